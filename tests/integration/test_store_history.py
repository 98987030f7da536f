"""The store's history queries: DuckDB (real files) and the in-memory store agree, and files
written before ``runs.partial`` existed are migrated with every old run counted as whole."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from histories import Plan, build

from testfleet.model import RunInfo
from testfleet.model import TestResult as Result
from testfleet.store import MemoryStore, Store, open_store
from testfleet.store.schema import MIGRATIONS, migrate


def fill(store: Store) -> None:
    outcomes = ["passed", "failed", "skipped", "error", "xfailed", "crashed", "not_run"]
    for i in range(6):
        rid = f"run{i}"
        status = "interrupted" if i == 4 else "finished"
        store.start_run(RunInfo(run_id=rid, start=10.0 * i, git_commit=f"c{i // 2}", partial=i == 2))
        store.add_results(
            [
                Result(
                    rid,
                    f"t{j}",
                    outcomes[(i + j) % len(outcomes)],
                    call_duration=0.5 * j,
                    setup_duration=0.01,
                )
                for j in range(5)
            ]
        )
        store.add_results(
            [
                Result(rid, "retry", "failed", attempt=1, final=False),
                Result(rid, "retry", "passed", attempt=2, flaky=True, call_duration=1.0),
                Result(rid, "steady", "passed", call_duration=0.2),
                Result(rid, "varies", "passed", call_duration=0.1 * (i + 1)),
            ]
        )
        store.finish_run(rid, status, 10.0 * i + 3, 0, {})
    store.start_run(RunInfo(run_id="live", start=100.0))  # still running: never counts


@pytest.mark.parametrize("include_partial", [False, True])
def test_duckdb_and_memory_answer_the_same(tmp_path: Path, include_partial: bool) -> None:
    memory = MemoryStore()
    duck = open_store(tmp_path / "r.duckdb", rootdir=tmp_path)
    for store in (memory, duck):
        fill(store)
    try:
        for limit, before in [(100, float("inf")), (3, float("inf")), (100, 30.0)]:
            a = memory.run_stats(limit=limit, include_partial=include_partial, before=before)
            b = duck.run_stats(limit=limit, include_partial=include_partial, before=before)
            assert a == b
        runs = memory.run_stats(limit=100, include_partial=include_partial)
        expected = (
            ["run0", "run1", "run2", "run3", "run4", "run5"]
            if include_partial
            else ["run0", "run1", "run3", "run5"]
        )
        assert [r.run_id for r in runs] == expected
        assert runs[0].tests == 8 and runs[0].flaky == 1 and runs[0].failed == 2  # failed, error
        ids = [r.run_id for r in runs]
        assert memory.test_series(ids) == duck.test_series(ids)
        assert memory.test_series(ids, ["t1", "retry"]) == duck.test_series(ids, ["t1", "retry"])
        failing = duck.test_series(ids, failing_only=True)
        assert failing == memory.test_series(ids, failing_only=True)
        assert [x.nodeid for x in failing] == sorted(
            {x.nodeid for x in duck.test_series(ids)} - {"steady", "varies"}
        )
        assert all(
            any(o in ("failed", "error", "crashed", "timeout") for o in s.outcomes) or any(s.retried)
            for s in failing
        )
        for spread in [(0.4, 1.0), (0.0, 1.2), (0.01, 1.0)]:
            assert memory.test_series(ids, spread=spread) == duck.test_series(ids, spread=spread)
        # only "varies" changes duration (0.1 s more each run); the others take the same time
        assert [x.nodeid for x in duck.test_series(ids, spread=(0.0, 1.01))] == ["varies"]
        assert duck.test_series(ids, spread=(10.0, 1.01)) == []
        retry = duck.test_series(ids, ["retry"])[0]
        assert retry.retried == (True,) * len(ids) and retry.durations == (1.0,) * len(ids)
        assert sorted(memory.failure_messages(ids), key=str) == sorted(duck.failure_messages(ids), key=str)
    finally:
        duck.close()


def test_a_version_2_file_gets_the_partial_column_and_its_runs_count(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    migrate(conn, MIGRATIONS[:2])
    conn.execute("INSERT INTO runs (id, start, \"end\", status) VALUES ('old1', 1.0, 2.0, 'finished')")
    conn.close()
    store = open_store(path, rootdir=tmp_path, readonly=True)
    try:
        (run,) = store.runs()
        assert run.partial is False
        assert [r.run_id for r in store.run_stats()] == ["old1"]
    finally:
        store.close()


def test_partial_flag_round_trips(tmp_path: Path) -> None:
    build(tmp_path / "h.duckdb", Plan(seed=5, runs=4, partial_after=1))
    store = open_store(tmp_path / "h.duckdb", rootdir=tmp_path, readonly=True)
    try:
        flags = {r.run_id: r.partial for r in store.runs(limit=10)}
    finally:
        store.close()
    assert sorted(flags.values()) == [False, False, False, False, True]
