"""Trends and anomalies over windows built through the in-memory store."""

from __future__ import annotations

from testfleet.analysis.anomalies import find_anomalies
from testfleet.analysis.trends import metric, node_trend, run_trends, sparkline
from testfleet.model import RunInfo
from testfleet.model import TestResult as Result
from testfleet.store import MemoryStore


def test_sparkline_scales_from_min_to_max() -> None:
    assert sparkline([1.0, 2.0, 3.0, None, 8.0]) == "▁▂▃ █"
    assert sparkline([5.0, 5.0]) == "▄▄" and sparkline([None]) == " "


def make_store() -> MemoryStore:
    store = MemoryStore()
    for i in range(12):
        rid = f"r{i:02d}"
        store.start_run(RunInfo(run_id=rid, start=100.0 * i, git_commit=f"c{i}", partial=i == 5))
        slow = 0.2 * (1 + 0.01 * (i % 3)) if i < 11 else 1.0
        store.add_results(
            [
                Result(rid, "a", "passed", call_duration=slow),
                Result(rid, "b", "failed" if i == 11 else "passed", call_duration=0.1),
            ]
        )
        if i > 3:
            store.add_results([Result(rid, "new", "skipped")])
        store.finish_run(rid, "finished", 100.0 * i + 7, 0, {})
    return store


def test_run_trends_leave_partial_runs_out_and_count_per_run() -> None:
    store = make_store()
    runs = store.run_stats(limit=100)
    assert [r.run_id for r in runs] == [f"r{i:02d}" for i in range(12) if i != 5]
    rows = run_trends(runs)
    assert [(r["tests"], r["failed"], r["skipped"]) for r in rows][:4] == [(2, 0, 0)] * 4
    assert (rows[-1]["tests"], rows[-1]["failed"], rows[-1]["pass_rate"], rows[-1]["wall_seconds"]) == (
        3,
        1,
        0.5,
        7.0,
    )
    assert metric(runs, "test_seconds")[-1] == 1.1
    assert len(store.run_stats(limit=100, include_partial=True)) == 12
    series = {s.nodeid: s for s in store.test_series([r.run_id for r in runs])}
    points = node_trend(runs, series["new"])
    assert [p.outcome for p in points][:5] == [None, None, None, None, "skipped"]


def test_anomalies_of_the_last_run() -> None:
    store = make_store()
    runs = store.run_stats(limit=100)
    ids = [r.run_id for r in runs]
    found = find_anomalies(ids, store.test_series(ids), len(ids) - 1)
    assert [(a.nodeid, round(a.seconds, 2)) for a in found.durations] == [("a", 1.0)]
    assert [(o.nodeid, o.outcome, o.passed_before) for o in found.outcomes] == [("b", "failed", 10)]
