"""Collectors forked from ``testfleet run`` itself, once pytest and the collector's modules
are imported there: no interpreter start-up and no imports of their own (about 0.12 s of CPU
each, which on a small machine the other collectors and the controller's own start-up wait
for), and all of them start at the same moment.

:class:`ForkedProcess` answers what the executor asks of a collector's process (``pid``,
``poll``, ``wait``, ``returncode``) as :class:`subprocess.Popen` does.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import traceback
from types import ModuleType
from typing import Any


class ForkedProcess:
    """A child forked by this process, seen as :class:`subprocess.Popen` sees one."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: gone, how is unknown
                self.returncode = 255
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(["collector"], timeout or 0.0)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        assert self.returncode is not None
        return self.returncode


def _unbuffered(fd: int, like: Any) -> io.TextIOWrapper:
    """A text stream on ``fd`` as ``python -u`` makes one: every write reaches the file."""
    raw = io.FileIO(fd, "w", closefd=False)
    encoding = getattr(like, "encoding", None) or "utf-8"
    errors = getattr(like, "errors", None) or "backslashreplace"
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, write_through=True)


def fork_collector(
    collector: ModuleType, env: dict[str, str], cwd: str, log: str, close: list[Any]
) -> ForkedProcess:
    """Fork a collector: in the child, a new session, stdin from /dev/null, stdout and
    stderr to ``log`` (unbuffered), ``env`` added to the environment, ``close`` (the
    controller's sockets) closed, and then ``collector.main()`` (``collector``: the module
    ``testfleet.worker.collector``, imported by the caller, which the executor does not
    import), as ``python -m testfleet.worker.collector`` would run it (``__main__``
    included, for multiprocessing's spawn in a test)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return ForkedProcess(pid)
    code = 3
    try:
        os.setsid()
        for obj in close:
            obj.close()
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        # As with PYTHONUNBUFFERED=1: what a worker prints reaches the log at once.
        sys.stdout = sys.__stdout__ = _unbuffered(1, sys.__stdout__)  # type: ignore[misc]
        sys.stderr = sys.__stderr__ = _unbuffered(2, sys.__stderr__)  # type: ignore[misc]
        os.environ.update(env)
        os.chdir(cwd)
        from testfleet import options  # what `testfleet run` noted of its command line: its own

        options.spelled.clear()
        options.typed_args = None
        sys.argv = [collector.__file__ or "-m"]
        sys.modules["__main__"] = collector
        collector.main()  # ends the process itself
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        os._exit(code)
