"""``--report-json``: build_report over a small hand-written run state, and write_report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testfleet import model
from testfleet.report.json import build_report, write_report


@dataclass
class FakeSettings:
    db: str | None = None
    collectors: int = 1


@dataclass
class FakeState:
    """The attributes build_report reads from RunState, nothing more."""

    items: list[dict[str, Any]]
    final: dict[int, model.TestResult] = field(default_factory=dict)
    attempts: dict[int, list[model.TestResult]] = field(default_factory=dict)
    run_id: str = "r1234567"
    exit_code: int | None = 1
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    controller_peak_rss_kb: int | None = 51200
    controller_cpu_seconds: float | None = 2.5
    replacements: list[dict[str, Any]] = field(default_factory=list)
    lost_workers: list[dict[str, Any]] = field(default_factory=list)
    collect_seconds: float = 0.123456
    collection_hash: str = "0123456789abcdef"
    store_error: str | None = None
    settings: FakeSettings = field(default_factory=FakeSettings)
    wall: float = 3.14159265
    phases: dict[str, float] = field(default_factory=lambda: {"collected": 0.5, "loop_end": 2.75})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.final.values():
            out[r.outcome] = out.get(r.outcome, 0) + 1
        return out

    def wall_seconds(self) -> float:
        return self.wall


def result(nodeid: str, outcome: str, **kw: Any) -> model.TestResult:
    return model.TestResult("r1234567", nodeid, outcome, **kw)


def sample_state() -> FakeState:
    items = [{"nodeid": "t.py::test_a"}, {"nodeid": "t.py::test_b"}, {"nodeid": "t.py::test_c"}]
    flaky_final = result(
        "t.py::test_b",
        "passed",
        attempt=2,
        worker="w1",
        call_duration=0.5,
        setup_duration=0.0000014,
        flaky=True,
    )
    state = FakeState(
        items=items,
        final={
            0: result(
                "t.py::test_a", "failed", worker="w0", call_duration=1.23456789, message="assert 1 == 2"
            ),
            1: flaky_final,
        },
        attempts={1: [result("t.py::test_b", "failed", final=False), flaky_final]},
        workers={
            "w0": {
                "id": "w0",
                "pid": 11,
                "peak_rss_kb": 900,
                "tests": 1,
                "exit": "ok",
                "start_seconds": 0.2,
                "cpu_seconds": 1.75,
                "secret": "not reported",
            }
        },
        replacements=[{"worker": "w1", "seconds": 0.4}],
        lost_workers=[{"worker": "w2"}],
    )
    return state


def test_tests_are_listed_in_collection_order_with_not_run_for_missing_results() -> None:
    tests = build_report(sample_state())["tests"]
    assert tests == [
        {
            "nodeid": "t.py::test_a",
            "outcome": "failed",
            "duration": 1.234568,
            "worker": "w0",
            "attempts": 1,
            "message": "assert 1 == 2",
            "flaky": False,
        },
        {
            "nodeid": "t.py::test_b",
            "outcome": "passed",
            "duration": 0.500001,
            "worker": "w1",
            "attempts": 2,
            "message": None,
            "flaky": True,
        },
        {
            "nodeid": "t.py::test_c",
            "outcome": "not_run",
            "duration": 0.0,
            "worker": None,
            "attempts": 0,
            "message": None,
            "flaky": False,
        },
    ]


def test_run_level_fields() -> None:
    report = build_report(sample_state())
    assert {k: v for k, v in report.items() if k != "tests"} == {
        "run_id": "r1234567",
        "exit_code": 1,
        "collected": 3,
        "counts": {"failed": 1, "passed": 1},
        "workers": [
            {
                "id": "w0",
                "pid": 11,
                "peak_rss_kb": 900,
                "tests": 1,
                "exit": "ok",
                "start_seconds": 0.2,
                "cpu_seconds": 1.75,
            }
        ],
        "controller_peak_rss_kb": 51200,
        "controller_cpu_seconds": 2.5,
        "loop": {},
        "replacements": [{"worker": "w1", "seconds": 0.4}],
        "collect_seconds": 0.1235,
        "collectors": 1,
        "collection_hash": "0123456789abcdef",
        "makespan_seconds": None,  # the sample attempts carry no start times
        "wall_seconds": 3.1416,
        "phases": {"collected": 0.5, "loop_end": 2.75},
        "executor": {},
        "store": {"error": None, "enabled": True},
        "lost_nodes": [{"worker": "w2"}],
        "collection": [],
    }


def test_missing_worker_fields_are_null_and_store_can_be_disabled() -> None:
    state = FakeState(
        items=[], workers={"w3": {"id": "w3"}}, settings=FakeSettings(db="none"), store_error="locked"
    )
    report = build_report(state)
    assert report["workers"] == [
        {
            "id": "w3",
            "pid": None,
            "peak_rss_kb": None,
            "tests": None,
            "exit": None,
            "start_seconds": None,
            "cpu_seconds": None,
        }
    ]
    assert report["store"] == {"error": "locked", "enabled": False}
    assert (report["collected"], report["tests"], report["counts"]) == (0, [], {})


def test_write_report_writes_the_same_json_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("old", encoding="utf-8")
    write_report(str(path), sample_state())
    assert json.loads(path.read_text(encoding="utf-8")) == build_report(sample_state())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_makespan_runs_from_first_start_to_last_end_over_all_attempts() -> None:
    from types import SimpleNamespace

    from testfleet.report.json import makespan

    a = SimpleNamespace(start=100.0, duration=2.0, outcome="failed")
    b = SimpleNamespace(start=101.0, duration=3.5, outcome="passed")
    skipped = SimpleNamespace(start=None, duration=0.0, outcome="not_run")
    assert makespan(SimpleNamespace(attempts={0: [a, b], 1: [skipped]})) == 4.5
    assert makespan(SimpleNamespace(attempts={1: [skipped]})) is None
