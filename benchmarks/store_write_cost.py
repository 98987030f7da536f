"""What the DuckDB results store costs a run: ``python benchmarks/store_write_cost.py``.

1. burst: add 20,000 trivial results at once and close (flush) the store;
2. paced: a simulated 10 s run that reports 2,000 results per second one at a time, as a
   controller does, with the background writer flushing every 0.5 s. Compares the process's
   CPU time (all threads, DuckDB's included) with the same loop on a MemoryStore;
3. the cost of one attach/detach session against a full ``duckdb.connect``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from testfleet.model import RunInfo, TestResult
from testfleet.store import Store, open_store
from testfleet.store.ids import new_run_id


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def result(run_id: str, i: int) -> TestResult:
    return TestResult(
        run_id=run_id,
        nodeid=f"tests/test_mod{i // 100}.py::test_case_{i}",
        outcome="passed",
        worker=f"w{i % 8}",
        start=time.time(),
        setup_duration=0.0001,
        call_duration=0.0004,
        teardown_duration=0.0001,
    )


def start(store: Store) -> str:
    run_id = new_run_id()
    store.start_run(RunInfo(run_id=run_id, start=time.time(), host="bench", pid=os.getpid()))
    return run_id


def burst(db: Path, n: int) -> None:
    store = open_store(db, rootdir=db.parent)
    run_id = start(store)
    rows = [result(run_id, i) for i in range(n)]
    t0, c0 = time.perf_counter(), cpu()
    for r in rows:
        store.add_results([r])
    t1 = time.perf_counter()
    store.close()
    t2, c2 = time.perf_counter(), cpu()
    print(
        f"burst: {n} results: add_results {1000 * (t1 - t0):.0f} ms, close/flush "
        f"{1000 * (t2 - t1):.0f} ms, total {1000 * (t2 - t0):.0f} ms wall, "
        f"{1000 * (c2 - c0):.0f} ms CPU"
    )


def paced(store: Store, n: int, seconds: float) -> tuple[float, float, float]:
    run_id = start(store)
    interval = seconds / n
    t0, c0 = time.perf_counter(), cpu()
    in_add = 0.0
    for i in range(n):
        due = t0 + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        r = result(run_id, i)
        a = time.perf_counter()
        store.add_results([r])
        in_add += time.perf_counter() - a
    store.finish_run(run_id, "finished", time.time(), 0, {"passed": n})
    store.close()
    return time.perf_counter() - t0, cpu() - c0, in_add


def session_cost(db: Path) -> None:
    import duckdb

    from testfleet.store.connection import Database

    database = Database(db)
    with database.session(write=True):
        pass
    n = 50
    t0 = time.perf_counter()
    for _ in range(n):
        with database.session(write=True):
            pass
    t1 = time.perf_counter()
    for _ in range(n):
        duckdb.connect(str(db)).close()
    t2 = time.perf_counter()
    database.close()
    print(
        f"session (attach+detach) {1000 * (t1 - t0) / n:.1f} ms; "
        f"duckdb.connect+close {1000 * (t2 - t1) / n:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=0.5, help="the store's flush interval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        burst(Path(tmp) / "burst.duckdb", args.n)
        wall, used, in_add = paced(open_store("none", rootdir=tmp), args.n, args.seconds)
        print(f"paced, MemoryStore: {wall:.2f} s wall, {1000 * used:.0f} ms CPU")
        db = Path(tmp) / "paced.duckdb"
        wall2, used2, in_add2 = paced(open_store(db, rootdir=tmp, flush_interval=args.interval),
                                      args.n, args.seconds)
        extra = used2 - used
        print(
            f"paced, DuckDBStore: {wall2:.2f} s wall, {1000 * used2:.0f} ms CPU; store cost "
            f"{1000 * extra:.0f} ms CPU = {100 * extra / args.seconds:.1f}% of the "
            f"{args.seconds:.0f} s run; time inside add_results {1000 * in_add2:.0f} ms; "
            f"file {db.stat().st_size // 1024} KiB"
        )
        session_cost(db)


if __name__ == "__main__":
    main()
