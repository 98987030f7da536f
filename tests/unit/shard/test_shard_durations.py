"""Durations files (testfleet's own and pytest-split's) and durations from stored history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testfleet.errors import UsageError
from testfleet.model import RunInfo, TestResult
from testfleet.shard.durations import history_durations, read_durations, write_durations
from testfleet.store import MemoryStore


def test_written_file_reads_back_and_is_sorted_json(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    write_durations(path, {"b.py::t": 0.12345, "a.py::t": 2})
    data = json.loads(path.read_text())
    assert data["format"] == "testfleet-durations" and list(data["durations"]) == ["a.py::t", "b.py::t"]
    assert read_durations(path) == {"a.py::t": 2.0, "b.py::t": 0.123}
    assert [p.name for p in tmp_path.iterdir()] == ["durations.json"]  # no temporary file left


def test_pytest_split_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / ".test_durations"
    path.write_text(json.dumps({"t.py::a": 1.5, "t.py::b": 3}))
    assert read_durations(path) == {"t.py::a": 1.5, "t.py::b": 3.0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "cannot read"),
        ('["t.py::a"]', "is not a durations file"),
        ('{"t.py::a": "slow"}', "is not a durations file"),
    ],
)
def test_bad_file_is_a_usage_error_naming_the_option(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "d.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=f"--durations-file: .*{message}"):
        read_durations(path)


def _result(run: str, nodeid: str, outcome: str, seconds: float, start: float) -> TestResult:
    return TestResult(run_id=run, nodeid=nodeid, outcome=outcome, call_duration=seconds, start=start)


def test_history_is_the_median_of_finished_runs_only() -> None:
    store = MemoryStore()
    for k, (status, seconds) in enumerate(
        [("finished", 1.0), ("interrupted", 3.0), ("finished", 2.0), ("running", 100.0)]
    ):
        run = f"r{k}"
        store.start_run(RunInfo(run_id=run, start=float(k)))
        store.add_results(
            [
                _result(run, "t.py::a", "passed", seconds, float(k)),
                _result(run, "t.py::s", "skipped", 50.0, float(k)),
            ]
        )
        if status != "running":
            store.finish_run(run, status, float(k) + 0.5, 0, {})
    # The running run (this one, for a shard's collector) is left out; skipped tests have no time.
    assert history_durations(store) == {"t.py::a": 2.0}


def test_older_runs_are_not_read_once_every_wanted_test_has_its_samples() -> None:
    store = MemoryStore()
    for k, seconds in enumerate([9.0, 1.0, 2.0]):  # r2 is the newest
        store.start_run(RunInfo(run_id=f"r{k}", start=float(k)))
        store.add_results(
            [
                _result(f"r{k}", "t.py::a", "passed", seconds, float(k)),
                _result(f"r{k}", "t.py::b", "passed", seconds, float(k)),
            ]
        )
        store.finish_run(f"r{k}", "finished", float(k) + 0.5, 0, {})
    assert history_durations(store, per_test=2, wanted=["t.py::a"]) == {"t.py::a": 1.5, "t.py::b": 1.5}
    assert history_durations(store, per_test=3) == {"t.py::a": 2.0, "t.py::b": 2.0}
