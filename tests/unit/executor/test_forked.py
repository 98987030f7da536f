"""A collector forked by ``testfleet run`` (``executor/forked.py``): its process, as the
executor asks about it (``pid``, ``poll``, ``wait``), answers what :class:`subprocess.Popen`
answers for the same child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from testfleet.executor.forked import ForkedProcess


def forked(code: int | None = None, sleep: float = 0.0) -> ForkedProcess:
    """A child that sleeps ``sleep`` seconds, then exits with ``code`` (None: waits to be killed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            time.sleep(sleep)
            while code is None:
                time.sleep(1)
        finally:
            os._exit(code or 0)
    return ForkedProcess(pid)


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code_as_popen_gives_it(code: int) -> None:
    proc = forked(code)
    assert proc.wait(timeout=10) == code
    assert proc.poll() == code and proc.returncode == code


def test_killed_child_is_a_negative_signal_number_and_running_one_polls_none() -> None:
    proc = forked(None)
    assert proc.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert proc.poll() == -signal.SIGKILL  # asked again: the same answer, no second wait


def test_a_child_reaped_elsewhere_counts_as_gone() -> None:
    proc = forked(0)
    os.waitpid(proc.pid, 0)  # someone else took its status
    assert proc.poll() == 255
