"""The results journal: what it appends survives, a torn last line is ignored."""

from __future__ import annotations

from pathlib import Path

from testfleet.model import TestResult
from testfleet.store.journal import Journal, journal_path, read_journal


def result(n: int, **kw: object) -> TestResult:
    fields: dict[str, object] = {"outcome": "passed", "worker": "w0", "start": 1.5, "call_duration": 0.25}
    fields.update(kw)
    return TestResult(run_id="r1", nodeid=f"t.py::test_{n}", **fields)  # type: ignore[arg-type]


def test_flushed_results_read_back_field_for_field(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "s.duckdb", "r1")
    journal = Journal(path)
    journal.add(result(1))
    assert read_journal(path) == []  # added, not yet written: written once per loop round
    journal.flush()
    journal.add(result(2, outcome="failed", final=False, failure_text="boom\n\u2603", flaky=True))
    journal.flush()
    assert read_journal(path) == [
        result(1),
        result(2, outcome="failed", final=False, failure_text="boom\n\u2603", flaky=True),
    ]
    journal.close(remove=True)
    assert not path.exists() and not path.parent.exists()


def test_a_line_torn_by_a_kill_is_ignored(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "s.duckdb", "r1")
    journal = Journal(path)
    journal.add(result(1))
    journal.close()
    with path.open("a") as fh:
        fh.write('["r1","t.py::test_2","pass')
    assert [r.nodeid for r in read_journal(path)] == ["t.py::test_1"]
    assert read_journal(tmp_path / "missing.jsonl") == []
