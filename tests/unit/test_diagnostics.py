"""The one copy of the exit-description and tail-reading helpers (issue 14: twins)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from testfleet.diagnostics import describe_exit, describe_status, read_tail


def test_exit_codes_and_wait_statuses_read_the_same() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "killed by signal 9 (SIGKILL)"
    assert describe_exit(-200) == "killed by signal 200 (200)"
    pid = os.fork() if hasattr(os, "fork") else 0
    if pid == 0:  # the child: whatever handler the parent process holds, die of SIGTERM
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            os._exit(70)
    _, status = os.waitpid(pid, 0)
    assert describe_status(status) == "killed by signal 15 (SIGTERM)"
    proc = subprocess.run([sys.executable, "-c", "raise SystemExit(4)"])
    assert describe_exit(proc.returncode) == "exited with code 4"


def test_tail_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a" * 10 + b"\xff" + b"tail")
    assert read_tail(str(path), 5) == "[... 10 earlier bytes not shown ...]\n\ufffdtail"
    assert read_tail(str(path), 5, marker=False) == "\ufffdtail"
    assert read_tail(str(path)) == "a" * 10 + "\ufffdtail"
    assert read_tail(str(tmp_path / "missing")) is None
