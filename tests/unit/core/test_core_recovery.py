"""--resume's replay of the workers' journals (recovery.py): an execution the controller
recorded is not stored again, duplicates count once, a torn line is skipped, new attempts
are numbered after the known ones, and a test with a final outcome keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testfleet.messages import encode_json, encode_location, encode_names
from testfleet.model import TestResult
from testfleet.recovery import recovered, unrecorded
from testfleet.store.journal import journal_path, read_worker_journal, worker_journal_path, worker_journals
from testfleet.worker.journal import WorkerJournal
from testfleet.worker.loop import encode_report


def reports(nodeid: str, start: float, call: str = "passed", text: str = "") -> list[pytest.TestReport]:
    loc = ("t.py", 1, nodeid.rpartition("::")[2])
    longrepr = text or None
    return [
        pytest.TestReport(nodeid, loc, {}, "passed", None, "setup", [], 0.001, start, start + 0.001),
        pytest.TestReport(
            nodeid,
            loc,
            {},
            call,
            longrepr,
            "call",  # type: ignore[arg-type]
            [("Captured stdout call", "hi\n")] if text else [],
            0.25,
            start,
            start + 0.25,
        ),
        pytest.TestReport(nodeid, loc, {}, "passed", None, "teardown", [], 0.0, start + 0.25, start + 0.25),
    ]


def write(
    config: pytest.Config,
    run_journal: Path,
    worker: str,
    executions: list[tuple[str, float, list[pytest.TestReport]]],
) -> Path:
    """A worker's journal, written by the worker's own code from real reports."""
    path = worker_journal_path(run_journal, worker)
    journal = WorkerJournal(str(path))
    for nodeid, start, reps in executions:
        wire = encode_json([encode_report(config, r) for r in reps])
        location = encode_location(("t.py", 1, nodeid.rpartition("::")[2]))
        journal.record(nodeid, start, location, encode_names(["x"]), wire)
    journal.close()
    return path


def known(nodeid: str, worker: str, start: float, attempt: int = 1, **kw: Any) -> TestResult:
    return TestResult(
        run_id="r1",
        nodeid=nodeid,
        outcome=kw.pop("outcome", "passed"),
        attempt=attempt,
        worker=worker,
        start=start,
        **kw,
    )


@pytest.fixture
def run_journal(tmp_path: Path) -> Path:
    path = journal_path(tmp_path / "s.duckdb", "r1")
    path.parent.mkdir()
    return path


def replay(
    config: pytest.Config, run_journal: Path, controller: list[TestResult], retries: int = 0
) -> list[TestResult]:
    journals = {w: read_worker_journal(p) for w, p in worker_journals(run_journal).items()}
    return recovered(config, "r1", journals, controller, retries)


def test_only_what_the_controller_did_not_record_is_recovered(
    pytestconfig: pytest.Config, run_journal: Path
) -> None:
    write(
        pytestconfig,
        run_journal,
        "w0",
        [("t.py::a", 100.0, reports("t.py::a", 100.0)), ("t.py::b", 100.5, reports("t.py::b", 100.5))],
    )
    p1 = write(
        pytestconfig,
        run_journal,
        "w1",
        [
            ("t.py::c", 100.2, reports("t.py::c", 100.2)),
            ("t.py::d", 100.7, reports("t.py::d", 100.7, "failed", "E boom")),
        ],
    )
    with p1.open("a") as fh:  # w1 was killed writing its next test: that one was in flight
        fh.write('["t.py::e",101.0,["t.py",1,"e"],["x"],[["setup","pas')
    # The controller recorded a (from w0) and c (from w1); b and d were unread in the sockets.
    got = replay(pytestconfig, run_journal, [known("t.py::a", "w0", 100.0), known("t.py::c", "w1", 100.2)])
    assert [(r.nodeid, r.worker, r.start, r.attempt, r.outcome, r.final) for r in got] == [
        ("t.py::b", "w0", 100.5, 1, "passed", True),
        ("t.py::d", "w1", 100.7, 1, "failed", True),
    ]
    d = got[1]
    assert d.run_id == "r1" and d.call_duration == 0.25 and d.setup_duration == 0.001
    assert d.message == "boom" and d.failure_text == "E boom" and d.stdout == "hi\n"


def test_an_execution_counts_once_whoever_holds_it_and_however_often(
    pytestconfig: pytest.Config, run_journal: Path
) -> None:
    a = ("t.py::a", 100.0, reports("t.py::a", 100.0))
    write(pytestconfig, run_journal, "w0", [a, a])  # the same line twice
    assert len(replay(pytestconfig, run_journal, [])) == 1
    # Same test, another start (a second execution, e.g. after a retry): a new attempt.
    entries = {
        "w0": [
            ["t.py::a", 100.0, None, [], []],
            ["t.py::a", 100.0, None, [], []],
            ["t.py::a", 105.0, None, [], []],
        ]
    }
    assert [(w, e[1]) for w, e in unrecorded(entries, [])] == [("w0", 100.0), ("w0", 105.0)]
    # The controller's start for it is the same stamp, whatever worker id another test ran on.
    assert unrecorded(entries, [known("t.py::a", "w0", 100.0), known("t.py::a", "w1", 105.0)]) == [
        ("w0", ["t.py::a", 105.0, None, [], []])
    ]


def test_attempts_follow_the_known_ones_and_a_final_outcome_stands(
    pytestconfig: pytest.Config, run_journal: Path
) -> None:
    write(
        pytestconfig,
        run_journal,
        "w0",
        [
            ("t.py::flaky", 101.0, reports("t.py::flaky", 101.0)),
            ("t.py::settled", 102.0, reports("t.py::settled", 102.0, "failed", "E late")),
            ("t.py::again", 103.0, reports("t.py::again", 103.0, "failed", "E again")),
        ],
    )
    controller = [
        known("t.py::flaky", "w1", 100.0, outcome="failed", final=False),  # retried, retry unread
        known("t.py::settled", "w1", 99.0, outcome="not_run"),  # a final outcome already
    ]
    got = replay(pytestconfig, run_journal, controller, retries=1)
    assert [(r.nodeid, r.attempt, r.outcome, r.final, r.flaky) for r in got] == [
        ("t.py::flaky", 2, "passed", True, True),
        ("t.py::again", 1, "failed", False, False),  # a counted retry: runs again on --resume
    ]


def test_a_test_whose_reports_stop_after_setup_is_not_recovered(
    pytestconfig: pytest.Config, run_journal: Path
) -> None:
    write(pytestconfig, run_journal, "w0", [("t.py::a", 100.0, reports("t.py::a", 100.0)[:1])])
    assert replay(pytestconfig, run_journal, []) == []
