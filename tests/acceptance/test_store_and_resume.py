"""The results store seen from a run: runs recorded and listed, history used, a corrupt
store never costs the run, and --resume finishes an interrupted run without re-running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testfleet.testing import eventually

SLOW_SUITE = """
import os, time, pytest
HERE = os.path.dirname(__file__)
@pytest.mark.parametrize("n", range(16))
def test_step(n):
    with open(os.path.join(HERE, "executions.log"), "a") as fh:
        fh.write(f"start {n} {os.getpid()}\\n")
    time.sleep(0.6)
    with open(os.path.join(HERE, "executions.log"), "a") as fh:
        fh.write(f"end {n}\\n")
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testfleet", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_run_is_stored_and_listed(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_ok(): pass\ndef test_bad(): assert 0, 'nope'\n")
    db = fleet.root / "store.duckdb"
    run = fleet.run("-w", "2", "--db", str(db))
    assert run.code == 1
    run_id = run.report["run_id"]
    assert f"testfleet: run {run_id} stored in {db}" in run.out
    listing = cli("runs", "--db", str(db), cwd=fleet.root)
    assert listing.returncode == 0
    assert run_id in listing.stdout and "finished" in listing.stdout
    shown = cli("show", run_id, "--db", str(db), cwd=fleet.root)
    assert shown.returncode == 0
    assert "test_a.py::test_bad" in shown.stdout and "nope" in shown.stdout
    assert "(2 collected)" in shown.stdout  # runs.collected is filled (issue 13)


def test_default_store_lives_under_the_rootdir(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_ok(): pass\n")
    run = fleet.run("-w", "1")
    assert run.code == 0
    assert (fleet.root / ".testfleet" / "results.duckdb").is_file()


def test_corrupt_store_does_not_cost_the_run(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_ok(): pass\n")
    db = fleet.root / "bad.duckdb"
    db.write_bytes(b"this is not a duckdb file at all" * 100)
    run = fleet.run("-w", "1", "--db", str(db))
    assert run.code == 0
    assert run.report["counts"] == {"passed": 1}
    lines = [ln for ln in run.out.splitlines() if "results not stored" in ln]
    assert len(lines) == 1 and "bad.duckdb" in lines[0]


def _wait_for_lines(path: Path, prefix: str, n: int, deadline: float) -> None:
    end = time.monotonic() + deadline
    while True:
        if path.exists() and sum(1 for ln in path.read_text().splitlines() if ln.startswith(prefix)) >= n:
            return
        if time.monotonic() > end:
            raise AssertionError(f"fewer than {n} {prefix!r} lines in {path} after {deadline}s")
        time.sleep(0.05)


def _workers_gone(log: Path) -> None:
    """Until every worker that logged a test start has exited: the controller is dead, its
    collector kills them (a test they finish meanwhile ends for good: it is in the worker's
    journal), so only then does the log say what ran before the resume."""

    def gone(pid: int) -> bool:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        return stat.rpartition(")")[2].split()[0] in ("Z", "X")  # exited, not reaped yet

    pids = {int(ln.split()[2]) for ln in log.read_text().splitlines() if ln.startswith("start")}
    eventually(lambda: all(gone(pid) for pid in pids), timeout=30, message=f"workers {sorted(pids)} exited")


def _wait_for_stored(db: Path, n: int, deadline: float) -> None:
    """Until the store holds at least ``n`` results of its latest run (read as another
    process would, while the run writes)."""
    from testfleet.store import open_store

    end = time.monotonic() + deadline
    while True:
        if db.exists():
            store = open_store(str(db), rootdir=db.parent, readonly=True, lock_timeout=5.0)
            try:
                run_id = store.latest_run_id()
                stored = len(store.results(run_id)) if run_id else 0
            finally:
                store.close()
            if stored >= n:
                return
        if time.monotonic() > end:
            raise AssertionError(f"fewer than {n} results stored in {db} after {deadline}s")
        time.sleep(0.1)


def _stored_steps(db: Path) -> set[str]:
    """The ``n`` of every test_step the latest run stored a final result for."""
    from testfleet.store import open_store

    store = open_store(str(db), rootdir=db.parent, readonly=True, lock_timeout=5.0)
    try:
        run_id = store.latest_run_id()
        return {
            r.nodeid.rsplit("[", 1)[1].rstrip("]")
            for r in store.results(run_id or "")
            if r.final and r.outcome == "passed"
        }
    finally:
        store.close()


def test_resume_after_sigkill_of_the_controller_completes_the_run(fleet: Any) -> None:
    fleet.write("test_steps.py", SLOW_SUITE)
    db = fleet.root / "r.duckdb"
    log = fleet.root / "executions.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--db", str(db)],
        cwd=fleet.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_lines(log, "end", 6, 60)
    _wait_for_stored(db, 4, 60)  # a store batch landed (every 2 s), as it would in a real run
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _workers_gone(log)
    listing = cli("runs", "--db", str(db), cwd=fleet.root)
    assert "interrupted" in listing.stdout, listing.stdout + listing.stderr
    ended_before = {ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("end")}
    stored = _stored_steps(db)
    assert len(stored) >= 4 and stored <= ended_before
    log.write_text("")
    resumed = fleet.run("-w", "2", "--db", str(db), "--resume")
    assert resumed.code == 0, resumed.out
    assert resumed.report["counts"] == {"passed": 16}
    assert "resumed run" in resumed.out
    rerun = {ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("start")}
    # Nothing that had ended before the kill ran again (what the store batch had not written
    # yet came back from the run's journal); together the two parts ran every test.
    # A test whose body ended but whose result had not reached the controller was in flight.
    assert len(rerun & ended_before) <= 2
    assert rerun | ended_before == {str(n) for n in range(16)}
    # The resumed part ran part of the suite: stored as partial, so history statistics skip it.
    parts = json.loads(cli("runs", "--db", str(db), "--format", "json", cwd=fleet.root).stdout)["runs"]
    assert [(r["partial"], r["parent_run"] is not None) for r in parts] == [(True, True), (False, False)]


RESUME_SUITE = """
import os, time, pytest
LOG = os.path.join(os.path.dirname(__file__), "executions.log")
SLOW = os.path.exists(os.path.join(os.path.dirname(__file__), "slow"))
def _log(text):
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, text.encode())
    os.close(fd)
@pytest.mark.parametrize("n", range(200))
def test_step(n):
    _log(f"start {n} {os.getpid()}\\n")
    time.sleep(0.03 if SLOW else 0)
    _log(f"end {n}\\n")
"""


def _ends(log: Path) -> int:
    return sum(1 for ln in log.read_text().splitlines() if ln.startswith("end"))


@pytest.mark.parametrize("unread", [False, True], ids=["running", "unread-results"])
def test_resume_after_sigkill_reruns_only_what_was_in_flight(fleet: Any, unread: bool) -> None:
    """Issue 13 point 3: tests that had finished before the kill, their results still in the
    store's unwritten batch, ran again on --resume. Then (``unread``): results the workers had
    sent but the controller had not read (it was stopped: they waited in the sockets) ran
    again; they are in the workers' own journals now."""
    from testfleet.store import open_store

    fleet.write("test_many.py", RESUME_SUITE)
    db = fleet.root / "r.duckdb"
    log = fleet.root / "executions.log"
    if unread:  # with history of fast tests, workers hold long queues: they run on unread
        assert fleet.run("-w", "2", "--db", str(db)).code == 0
        log.write_text("")
    fleet.write("slow", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--db", str(db)],
        cwd=fleet.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_lines(log, "end", 60, 60)
    if unread:  # the workers go on while the controller reads nothing
        os.kill(proc.pid, signal.SIGSTOP)
        before_stop = _ends(log)
        eventually(
            lambda: _ends(log) >= before_stop + 4,
            timeout=30,
            message="the workers finished tests while the controller was stopped",
        )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _workers_gone(log)
    before = log.read_text().splitlines()
    ended = {ln.split()[1] for ln in before if ln.startswith("end")}
    started = {ln.split()[1] for ln in before if ln.startswith("start")}
    assert 60 <= len(ended) < 200
    log.write_text("")
    resumed = fleet.run("-w", "2", "--db", str(db), "--resume")
    assert resumed.code == 0, resumed.out
    assert resumed.report is not None and resumed.report["counts"] == {"passed": 200}
    rerun = {ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("start")}
    again = rerun & started
    # What runs again is at most what was in flight on each worker when the controller died:
    # the test it was running (killed with it). A result a worker had produced is in its own
    # journal before it is sent, so one still in the socket, unread, is not lost.
    assert len(again - (started - ended)) <= 2, (again, sorted(started - ended, key=int))
    assert len(again) <= 2, (again, sorted(started - ended, key=int))
    assert rerun | ended == {str(n) for n in range(200)}
    store = open_store(str(db), rootdir=db.parent, readonly=True, lock_timeout=5.0)
    try:
        rows = [
            r
            for run_id in (resumed.report["run_id"], store.get_run(resumed.report["run_id"]).parent_run)
            for r in store.results(run_id or "")
        ]
    finally:
        store.close()
    finals = [r.nodeid for r in rows if r.final and r.outcome == "passed"]
    assert len(finals) == 200 and len(set(finals)) == 200  # every result stored, none twice
    assert not (db.parent / "r.duckdb.journal").exists()  # all in the store: journals removed


def test_resume_of_a_finished_or_unknown_run_is_a_usage_error(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_ok(): pass\n")
    db = str(fleet.root / "r.duckdb")
    first = fleet.run("-w", "1", "--db", db)
    finished = fleet.run("-w", "1", "--db", db, "--resume")
    assert finished.code == 4
    assert f"--resume: run {first.report['run_id']} finished; there is nothing to resume" in finished.err
    unknown = fleet.run("-w", "1", "--db", db, "--resume", "nosuchrun")
    assert unknown.code == 4
    assert "--resume: no run 'nosuchrun' in the results store" in unknown.err


def test_history_puts_the_longest_test_first(fleet: Any) -> None:
    fleet.write(
        "test_d.py",
        """
import time, pytest
@pytest.mark.parametrize("n", range(5))
def test_d(n): time.sleep(0.05 if n < 4 else 0.6)
""",
    )
    db = str(fleet.root / "h.duckdb")
    fleet.run("-w", "1", "--db", db)
    second = fleet.run("-w", "1", "--db", db, "-v")
    passed = [ln.split()[0] for ln in second.out.splitlines() if " PASSED" in ln]
    assert passed[0] == "test_d.py::test_d[4]"
    data = json.loads(json.dumps(second.report))
    assert data["counts"] == {"passed": 5}


def test_sigterm_settles_reports_and_can_be_resumed(fleet: Any) -> None:
    fleet.write("test_steps.py", SLOW_SUITE)
    db = fleet.root / "t.duckdb"
    report = fleet.root / "term.json"
    log = fleet.root / "executions.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--db", str(db), "--report-json", str(report)],
        cwd=fleet.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_for_lines(log, "end", 2, 60)
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    data = json.loads(report.read_text())
    assert data["exit_code"] == 2
    assert sum(data["counts"].values()) == 16 and data["counts"]["not_run"] >= 1
    assert "interrupted" in cli("runs", "--db", str(db), cwd=fleet.root).stdout
    resumed = fleet.run("-w", "2", "--db", str(db), "--resume", data["run_id"])
    assert resumed.code == 0
    assert resumed.report["counts"] == {"passed": 16}
