"""MemoryStore: the protocol's semantics, which the DuckDB store shares (see the integration
tests, which run the same scenarios against a real file)."""

from __future__ import annotations

import pytest

from testfleet.errors import StoreError, UsageError
from testfleet.model import RunInfo, WorkerInfo
from testfleet.model import TestResult as Result
from testfleet.store import MemoryStore, open_store


def make_history(store: MemoryStore) -> None:
    # Three runs of the same tests, a slower one each time; the last run is a resume of run2.
    for k, run_id in enumerate(["run1aaaa", "run2bbbb", "run3cccc"]):
        store.start_run(
            RunInfo(
                run_id=run_id, start=1000.0 + 100 * k, parent_run="run2bbbb" if run_id == "run3cccc" else None
            )
        )
        for j, nodeid in enumerate(["t::a", "t::b"]):
            store.add_results(
                [Result(run_id, nodeid, "passed", start=1000.0 + 100 * k + j, call_duration=float(k + 1))]
            )
    store.add_results(
        [
            Result("run3cccc", "t::c", "failed", attempt=1, final=False, start=1210.0, call_duration=50.0),
            Result("run3cccc", "t::c", "passed", attempt=2, flaky=True, start=1220.0, call_duration=7.0),
            Result("run3cccc", "t::d", "not_run", start=None),
        ]
    )


def test_open_store_none_is_a_memory_store(tmp_path: object) -> None:
    assert isinstance(open_store("none", rootdir="/nonexistent"), MemoryStore)
    assert isinstance(open_store("NONE", rootdir="/nonexistent"), MemoryStore)


def test_runs_newest_first_with_limit_and_latest() -> None:
    store = MemoryStore()
    make_history(store)
    assert [r.run_id for r in store.runs()] == ["run3cccc", "run2bbbb", "run1aaaa"]
    assert [r.run_id for r in store.runs(limit=1)] == ["run3cccc"]
    assert store.latest_run_id() == "run3cccc"
    assert MemoryStore().latest_run_id() is None


def test_get_run_by_id_or_unique_prefix() -> None:
    store = MemoryStore()
    make_history(store)
    run = store.get_run("run2")
    assert run is not None and run.run_id == "run2bbbb"
    assert store.get_run("nope") is None
    with pytest.raises(UsageError, match="ambiguous"):
        store.get_run("run")


def test_running_run_reports_live_counts_and_finish_records_them() -> None:
    store = MemoryStore()
    make_history(store)
    live = store.get_run("run3cccc")
    assert live is not None and live.status == "running"
    assert live.counts == {"passed": 3, "not_run": 1}  # t::c counted once, by its final attempt
    store.finish_run("run3cccc", "finished", 1300.0, 1, {"passed": 3, "not_run": 1})
    done = store.get_run("run3cccc")
    assert done is not None
    assert (done.status, done.end, done.exit_code) == ("finished", 1300.0, 1)


def test_finish_of_an_unknown_run_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="never started"):
        MemoryStore().finish_run("x", "finished", 1.0, 0, {})


def test_results_keep_every_attempt_in_start_order() -> None:
    store = MemoryStore()
    make_history(store)
    rows = [(r.nodeid, r.attempt, r.outcome) for r in store.results("run3cccc")]
    assert rows == [
        ("t::a", 1, "passed"),
        ("t::b", 1, "passed"),
        ("t::c", 1, "failed"),
        ("t::c", 2, "passed"),
        ("t::d", 1, "not_run"),
    ]


def test_durations_are_medians_of_the_last_timed_attempts() -> None:
    store = MemoryStore()
    make_history(store)
    # t::a took 1, 2, 3 s in runs 1-3; t::c failed at 50 s then passed at 7 s.
    assert store.durations() == {"t::a": 2.0, "t::b": 2.0, "t::c": 28.5}
    assert store.durations(["t::a"], last_runs=2) == {"t::a": 2.5}
    assert store.durations(["t::a"], last_runs=1) == {"t::a": 3.0}
    assert store.durations(["missing"]) == {}


def test_last_outcomes_use_the_latest_run_where_the_test_ran() -> None:
    store = MemoryStore()
    make_history(store)
    store.start_run(RunInfo(run_id="run4dddd", start=2000.0))
    store.add_results([Result("run4dddd", "t::a", "failed"), Result("run4dddd", "t::b", "not_run")])
    assert store.last_outcomes() == {"t::a": "failed", "t::b": "passed", "t::c": "passed"}
    assert store.last_outcomes(["t::b"]) == {"t::b": "passed"}


def test_completed_nodeids_follow_the_resume_chain() -> None:
    store = MemoryStore()
    make_history(store)
    store.add_results([Result("run2bbbb", "t::e", "failed")])
    assert store.completed_nodeids("run3cccc", include_parents=False) == {"t::a", "t::b", "t::c"}
    assert store.completed_nodeids("run3cccc") == {"t::a", "t::b", "t::c", "t::e"}


def test_workers_are_returned_per_run_in_order() -> None:
    store = MemoryStore()
    store.add_workers(
        [
            WorkerInfo("r1", "w0", "h", 1, {"cpus": 2}),
            WorkerInfo("r2", "w0", "h", 2),
            WorkerInfo("r1", "w1", "h", 3, node="n"),
        ]
    )
    assert [(w.worker_id, w.pid) for w in store.workers("r1")] == [("w0", 1), ("w1", 3)]


def test_stored_results_are_bounded_and_reads_are_copies() -> None:
    store = MemoryStore()
    store.add_results([Result("r", "t", "failed", stdout="x" * 200_000, message="boom\ntraceback")])
    got = store.results("r")[0]
    assert got.stdout is not None and len(got.stdout) <= 65536
    assert got.message == "boom"
    got.outcome = "passed"
    assert store.results("r")[0].outcome == "failed"


def test_closed_store_refuses_writes() -> None:
    store = MemoryStore()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.add_results([Result("r", "t", "passed")])
