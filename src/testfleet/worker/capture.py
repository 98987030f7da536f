"""Output capture in a worker.

pytest's fd-level capture writes into anonymous temporary files, which vanish with a crashed
process. In a worker we restart the global capture so its files have names in the run's
work directory (``<worker>.fd1`` / ``<worker>.fd2``): when a test crashes the worker, the
controller reads the test's output so far from them.

The collector stops its own global capture before it forks, so no capture file is ever
shared between processes.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import IO, Any

import pytest

from testfleet.diagnostics import read_tail


def stop_global_capture(config: pytest.Config) -> None:
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None and getattr(capman, "_global_capturing", None) is not None:
        capman.stop_global_capturing()


def capture_paths(workdir: str, worker_id: str) -> tuple[str, str]:
    return os.path.join(workdir, f"{worker_id}.fd1"), os.path.join(workdir, f"{worker_id}.fd2")


def restart_global_capture(config: pytest.Config, workdir: str, worker_id: str) -> None:
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        return
    if getattr(capman, "_global_capturing", None) is not None:
        capman.stop_global_capturing()
    if getattr(capman, "_method", "no") != "fd":
        capman.start_global_capturing()
        return
    import _pytest.capture as pc

    names: Iterator[str] = iter(capture_paths(workdir, worker_id))
    original: Any = getattr(pc, "TemporaryFile")  # noqa: B009 - not part of pytest's public API

    def named_tempfile(*args: Any, **kwargs: Any) -> IO[bytes]:
        try:
            path = next(names)
        except StopIteration:
            return original(*args, **kwargs)  # type: ignore[no-any-return]
        return open(path, "w+b", buffering=0)  # noqa: SIM115 - owned by FDCapture

    setattr(pc, "TemporaryFile", named_tempfile)  # noqa: B010
    try:
        capman.start_global_capturing()
    finally:
        setattr(pc, "TemporaryFile", original)  # noqa: B010


def dump_stacks(pid: int, path: str, wait: float = 1.0) -> str:
    """Ask a worker for the stacks of all its threads (SIGUSR1 -> faulthandler writes them to
    ``path``) and wait up to ``wait`` seconds for the file to stop growing."""
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return ""
    deadline = time.monotonic() + wait
    last = -1
    while time.monotonic() < deadline:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        if size > 0 and size == last:
            break
        last = size
        time.sleep(0.02)
    return read_tail(path, 256 * 1024) or ""
