"""A worker's journal: one line per test as it will be sent, readable back, a torn line
skipped, and the path never leaks to the tests (a nested run would write into it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from testfleet.messages import encode_json, encode_location, encode_names
from testfleet.store.journal import journal_path, read_worker_journal, worker_journal_path, worker_journals
from testfleet.worker.journal import WorkerJournal


def done(n: int) -> dict[str, Any]:
    return {
        "t": "done",
        "i": n,
        "kw": [f"test_{n}", "t.py"],
        "r": [
            ["setup", "passed", 0.001, 10.0, 10.001],
            ["call", "passed", 0.5, 10.001, 10.501],
            ["teardown", "passed", 0.0, 10.501, 10.501],
        ],
    }


def record(journal: WorkerJournal, nodeid: str, start: float, location: Any, msg: dict[str, Any]) -> None:
    journal.record(nodeid, start, encode_location(location), encode_names(msg["kw"]), encode_json(msg["r"]))


def test_lines_read_back_in_order_and_a_torn_one_is_skipped(tmp_path: Path) -> None:
    run_journal = journal_path(tmp_path / "s.duckdb", "r1")
    run_journal.parent.mkdir()
    path = worker_journal_path(run_journal, "w0.1")
    journal = WorkerJournal(str(path))
    record(journal, "t.py::test_1", 10.0, ("t.py", 3, "test_1"), done(1))
    record(journal, "t.py::test_\u2603", 11.25, ("t.py", 5, "test_\u2603"), done(2))
    journal.close()
    with path.open("a") as fh:
        fh.write('["t.py::test_3",12.0,["t.py",7,"te')  # killed mid-write
    assert worker_journals(run_journal) == {"w0.1": path}
    assert read_worker_journal(path) == [
        ["t.py::test_1", 10.0, ["t.py", 3, "test_1"], done(1)["kw"], done(1)["r"]],
        ["t.py::test_\u2603", 11.25, ["t.py", 5, "test_\u2603"], done(2)["kw"], done(2)["r"]],
    ]
    assert path.read_bytes().count(b"\n") == 2  # one line per test, no raw newline inside


def test_the_path_comes_from_the_environment_and_is_taken_out_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTFLEET_JOURNAL", raising=False)
    assert WorkerJournal.from_env() is None
    monkeypatch.setenv("TESTFLEET_JOURNAL", str(tmp_path / "no-such-dir" / "r1@w0.jsonl"))
    assert WorkerJournal.from_env() is None  # cannot open: no journal, the run goes on
    monkeypatch.setenv("TESTFLEET_JOURNAL", str(tmp_path / "r1@w0.jsonl"))
    journal = WorkerJournal.from_env()
    assert journal is not None and "TESTFLEET_JOURNAL" not in os.environ
    record(journal, "t.py::test_1", 1.0, None, done(1))
    journal.close()
    record(journal, "t.py::test_2", 2.0, None, done(2))  # closed: nothing more is written
    assert [e[0] for e in read_worker_journal(tmp_path / "r1@w0.jsonl")] == ["t.py::test_1"]
