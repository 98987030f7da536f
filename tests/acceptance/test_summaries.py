"""pytest-style summaries (issue 19): crashed, timed-out and unschedulable tests in pytest's
short test summary; their stack dumps folded to the test's own frames unless -vv; Ctrl-C
prints counts and the `testfleet run --resume` line, the list of tests not run only with -v."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from typing import Any

from testfleet.testing import eventually

SPECIAL = """
import ctypes, time, pytest

def test_segfault():
    ctypes.string_at(0)

def test_hang():
    time.sleep(60)

@pytest.mark.fleet(tags=["quantum"])
def test_needs_quantum():
    pass

def test_fails():
    assert 1 == 2
"""


def test_special_outcomes_are_in_the_short_summary_and_stacks_are_folded(fleet: Any) -> None:
    fleet.write("test_special.py", SPECIAL)
    run = fleet.run("-w", "2", "--db", "none", "--timeout", "3")
    assert run.code == 1, run.out + run.err
    short = run.out.split("short test summary info", 1)[1].splitlines()[1:]
    words = {line.split()[0]: line.split()[1] for line in short if line and not line.startswith("=")}
    assert words == {
        "FAILED": "test_special.py::test_fails",
        "CRASHED": "test_special.py::test_segfault",
        "TIMEOUT": "test_special.py::test_hang",
        "UNSCHEDULABLE": "test_special.py::test_needs_quantum",
    }
    assert 'test_special.py", line 5 in test_segfault' in run.out  # the test's own frame
    assert 'test_special.py", line 8 in test_hang' in run.out
    assert "frames of pytest, pluggy and testfleet (-vv shows them)" in run.out
    assert "pluggy/_execution.py" not in run.out and "worker/loop.py" not in run.out


def test_minus_vv_shows_the_stacks_in_full(fleet: Any) -> None:
    fleet.write("test_special.py", SPECIAL.split("def test_hang")[0])
    run = fleet.run("-w", "1", "--db", "none", "-vv")
    assert run.code == 1
    assert "pluggy/_execution.py" in run.out and "frames of pytest, pluggy" not in run.out


SLOW = """
import os, time, pytest
HERE = os.path.dirname(__file__)
@pytest.mark.parametrize("n", range(12))
def test_slow(n):
    open(os.path.join(HERE, f"started-{n}"), "w").close()
    time.sleep(0.5)
"""


def _interrupt(fleet: Any, *extra: str) -> tuple[int, str]:
    for old in fleet.root.glob("started-*"):
        old.unlink()
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", *extra],
        cwd=fleet.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Any test, not test_slow[0]: with the first run's history the order changes (tests that did
    # not run come first), and test_slow[0] may be the last to start.
    eventually(
        lambda: any(fleet.root.glob("started-*")), timeout=60, interval=0.02, message="a first test starts"
    )
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def test_ctrl_c_prints_counts_and_the_resume_line_not_the_list(fleet: Any) -> None:
    fleet.write("test_slow.py", SLOW)
    code, out = _interrupt(fleet)
    assert code == 2
    counts = [ln for ln in out.splitlines() if "testfleet: 12 collected: " in ln]
    assert len(counts) == 1 and " not_run" in counts[0], out
    header = [
        ln for ln in out.splitlines() if ln.startswith("=") and re.search(r"testfleet: \d+ tests not run", ln)
    ]
    assert len(header) == 1, out
    assert "NOT RUN test_slow.py" not in out
    assert "(-v lists them)" in out
    resume = [ln for ln in out.splitlines() if "testfleet run --resume " in ln]
    assert len(resume) == 1, out
    assert resume[0].startswith("testfleet: to run the ") and resume[0].split()[-1]  # the run id
    code, out = _interrupt(fleet, "-v")
    assert code == 2
    assert "NOT RUN test_slow.py::test_slow[" in out
