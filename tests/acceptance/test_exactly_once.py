"""Every collected test runs once and ends with one outcome, whatever happens (issue 13).

Real worker processes; every test appends its node id (and its pid) to a log from an
autouse fixture, so the log says how often each one really ran."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _fleet import KILLS_COLLECTOR, assert_left_without_collector

from testfleet.testing import eventually

LOGGING_CONFTEST = """
import os
import pytest

from testfleet.testing import eventually

@pytest.fixture(autouse=True)
def _execution_log(request):
    fd = os.open(os.environ["EXEC_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{request.node.nodeid} {os.getpid()}\\n".encode())
    os.close(fd)
    yield
"""


def executions(log: Path) -> Counter[str]:
    return Counter(line.split()[0] for line in log.read_text().splitlines() if line.strip())


def summary_count(out: str, word: str) -> int:
    found = re.findall(rf"(\d+) {word}", out)
    assert found, out[-2000:]
    return int(found[-1])


@pytest.mark.parametrize("workers", [8, 16])
def test_many_trivial_tests_each_run_exactly_once(fleet: Any, workers: int) -> None:
    modules, per_module = 20, 100
    fleet.write("conftest.py", LOGGING_CONFTEST)
    for m in range(modules):
        fleet.write(f"test_m{m:02d}.py", "".join(f"def test_{t}(): pass\n" for t in range(per_module)))
    log, junit = fleet.root / "exec.log", fleet.root / "junit.xml"
    total = modules * per_module
    run = fleet.run("-w", str(workers), "--db", "none", f"--junitxml={junit}", env={"EXEC_LOG": str(log)})
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    ran = executions(log)
    assert len(ran) == total
    assert [n for n, c in ran.items() if c != 1] == []  # nothing ran twice
    assert summary_count(run.out, "passed") == total  # pytest's own summary
    cases = [(c.get("classname"), c.get("name")) for c in ET.parse(junit).getroot().iter("testcase")]
    assert len(cases) == total and len(set(cases)) == total  # no duplicate testcases
    assert run.report is not None
    assert run.report["counts"]["passed"] == total and len(run.report["tests"]) == total


def test_tests_that_crash_their_worker_run_once_without_retries(fleet: Any) -> None:
    """Issue 13 point 2: a crashing test was sometimes run again, on a second worker."""
    fleet.write("conftest.py", LOGGING_CONFTEST)
    body = ["import os, signal, pytest\n"]
    for k in range(12):
        body.append(f"def test_crash_{k}():\n    os.kill(os.getpid(), signal.SIGSEGV)\n")
        body.append(f"@pytest.mark.parametrize('n', range(3))\ndef test_ok_{k}(n): pass\n")
    fleet.write("test_crashers.py", "".join(body))
    log = fleet.root / "exec.log"
    run = fleet.run("-w", "2", "--db", "none", env={"EXEC_LOG": str(log)})
    assert run.code == 1, run.out[-3000:]
    ran = executions(log)
    assert len(ran) == 48
    assert [n for n, c in ran.items() if c != 1] == []
    assert run.report is not None
    crashed = [t for t in run.report["tests"] if t["outcome"] == "crashed"]
    assert len(crashed) == 12 and all("signal 11" in t["message"] for t in crashed)
    assert all(t["attempts"] == 1 for t in run.report["tests"])
    assert summary_count(run.out, "passed") == 36


def test_timeouts_land_on_the_test_they_were_meant_for(fleet: Any) -> None:
    """Issue 13 point 6: with --timeout near test durations, the kill meant for a test that
    ran long landed on the next, 3 ms test on that worker ("crashed")."""
    body = ["import time, pytest\n"]
    for k in range(8):
        body.append(f"def test_slow_{k}(): time.sleep({0.22 + 0.01 * k:.2f})\n")
        body.append(f"def test_quick_{k}(): time.sleep(0.003)\n")
    fleet.write("test_timing.py", "".join(body))
    for _ in range(3):
        run = fleet.run("-w", "2", "--db", "none", "--timeout", "0.25")
        assert run.report is not None, run.out[-2000:] + run.err[-2000:]
        outcomes = {t["nodeid"].split("::")[1]: t["outcome"] for t in run.report["tests"]}
        assert len(outcomes) == 16
        quick = {n: o for n, o in outcomes.items() if n.startswith("test_quick")}
        assert set(quick.values()) == {"passed"}, (quick, run.out[-3000:])
        slow = {n: o for n, o in outcomes.items() if n.startswith("test_slow")}
        assert set(slow.values()) <= {"passed", "timeout"}, slow
        for t in run.report["tests"]:  # a timeout is only ever a test that ran past the limit
            assert t["outcome"] != "timeout" or t["duration"] >= 0.25, t


ATTACK = """
import os, signal, time, pytest

def test_before(): time.sleep(0.05)

def test_attack_parent():
    os.kill(os.getppid(), signal.{sig})

@pytest.mark.parametrize("n", range(12))
def test_after(n): time.sleep(0.05)
"""


@pytest.mark.parametrize("order", ["collection", "random:7"])
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGSTOP", "SIGTERM"])
def test_a_test_that_attacks_the_collector_does_not_hang_the_run(fleet: Any, sig: str, order: str) -> None:
    """Issue 13 point 4: the controller waited forever for exits the collector would report."""
    fleet.write("test_attack.py", ATTACK.replace("{sig}", sig))
    run = fleet.run(
        "-w", "2", "--db", "none", "--order", order, timeout=float(os.environ.get("ATTACK_TIMEOUT", "90"))
    )
    assert run.report is not None, run.out[-3000:] + run.err[-3000:]
    outcomes = Counter(t["outcome"] for t in run.report["tests"])
    assert outcomes == {"passed": 14}, (outcomes, run.out[-3000:])
    assert run.code == 0, run.out[-3000:]


def test_tests_left_without_a_collector_end_not_run_saying_why(fleet: Any) -> None:
    fleet.write("test_attack.py", KILLS_COLLECTOR)
    run = fleet.run(
        "-w",
        "1",
        "--db",
        "none",
        "--order",
        "collection",
        timeout=float(os.environ.get("ATTACK_TIMEOUT", "90")),
    )
    assert_left_without_collector(run, "collector process")
    assert run.code in (1, 2)


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGSTOP"])
def test_sigterm_ends_a_run_whose_collector_was_attacked_within_seconds(fleet: Any, sig: str) -> None:
    """Issue 13 point 4: neither SIGTERM nor SIGINT ended such a run."""
    fleet.write(
        "test_hang.py",
        f"""
import os, signal, time
HERE = os.path.dirname(__file__)
def test_attack():
    os.kill(os.getppid(), signal.{sig})
    open(os.path.join(HERE, "attacked"), "w").close()
    time.sleep(120)
def test_hang():
    time.sleep(120)
""",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--db", "none", "--order", "collection"],
        cwd=fleet.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        eventually(lambda: (fleet.root / "attacked").exists(), timeout=30)
        time.sleep(0.3)  # the controller notices the collector (it looks every 0.25 s)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        out, _err = proc.communicate(timeout=30)
        assert time.monotonic() - t0 < 15
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 2, out[-2000:]
    assert "2 not_run" in out, out[-2000:]


def test_report_counts_the_tests_of_a_worker_that_crashed(fleet: Any) -> None:
    fleet.write(
        "test_c.py",
        "import os\ndef test_a(): pass\ndef test_b(): pass\ndef test_c(): pass\n"
        "def test_z_dies(): os._exit(3)\n",
    )
    run = fleet.run("-w", "1", "--db", "none", "--order", "collection")
    assert run.report is not None
    first = [w for w in run.report["workers"] if w["id"] == "w0"]
    assert first and first[0]["tests"] == 3, run.report["workers"]
