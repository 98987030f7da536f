"""How fast the history commands answer on a big store: ``python benchmarks/analysis_store.py``.

Builds a results file of ``--runs`` x ``--tests`` result rows (default 500 runs of up to 2,100 tests: about 1,017,000)
with DuckDB itself (``INSERT ... SELECT`` over ``range()``: seconds, not minutes), with durations
that step up for some tests, flaky failures, a broken test and a growing suite, then times each
read command in this process (``testfleet.cli.main.main``, output discarded), ``--rounds`` times,
and prints the median and the slowest per command. The first round of each command is also the
first time its modules are imported, so it is reported apart ("cold"); "process" is one run of
``python -m testfleet ...`` as a user types it (interpreter start-up and imports included).

This is not a run benchmark (nothing here runs pytest), so there is no pytest/xdist pairing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from testfleet.cli.main import main
from testfleet.model import RunInfo
from testfleet.store import open_store

T0 = 1_700_000_000.0


def build(path: Path, runs: int, tests: int, seed: int = 1) -> int:
    """Write the synthetic store; return the number of result rows."""
    store = open_store(path, rootdir=path.parent)  # creates the file at the current schema
    store.start_run(RunInfo(run_id="seed", start=0.0))
    store.close()
    conn = duckdb.connect(str(path))
    try:
        conn.execute("DELETE FROM runs")
        conn.execute(f"SELECT setseed({seed / 1000})")
        conn.execute(f"""
            INSERT INTO runs (id, start, "end", args, rootdir, git_commit, status, exit_code,
                              collected, workers, backend, counts, partial)
            SELECT printf('%012x', i), {T0} + i * 3600, {T0} + i * 3600 + 300 + random() * 30,
                   '[]', '/bench', printf('c%05d', i // 2), 'finished', 0, {tests}, 8, 'local',
                   '{{}}', i % 50 = 49
            FROM range({runs}) t(i)""")
        # test j exists from run j * runs / (tests * 4) on (a growing suite), test 7 gets 3x
        # slower half-way, tests 11 and 13 fail 10% / 30% of runs, test 17 broken in the last 20.
        conn.execute(f"""
            INSERT INTO results (run_id, nodeid, outcome, attempt, worker, start, setup_duration,
                                 call_duration, teardown_duration, message, flaky, final)
            SELECT printf('%012x', i), printf('tests/test_m%03d.py::test_%05d', j // 50, j),
                   CASE WHEN j = 17 AND i >= {runs - 20} THEN 'failed'
                        WHEN j = 11 AND random() < 0.1 THEN 'failed'
                        WHEN j = 13 AND random() < 0.3 THEN 'failed'
                        ELSE 'passed' END,
                   1, printf('w%d', j % 8), {T0} + i * 3600 + j * 0.1, 0.0001,
                   (0.01 + (j % 97) / 200.0) * exp(0.05 * (random() + random() + random() - 1.5))
                       * CASE WHEN j = 7 AND i >= {runs // 2} THEN 3.0 ELSE 1.0 END,
                   0.0001, NULL, false, true
            FROM range({runs}) r(i), range({tests}) t(j)
            WHERE j < {tests} * 3 / 4 OR i >= (j - {tests} * 3 / 4) * {runs} / {tests}""")
        rows = conn.execute("SELECT count(*) FROM results").fetchone()
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    return int(rows[0]) if rows else 0


def commands(db: str) -> dict[str, list[str]]:
    return {
        "runs": ["runs", "--db", db, "--format", "json"],
        "show": ["show", "--db", db, "--format", "json"],
        "trends": ["trends", "--db", db, "--format", "json"],
        "trends NODEID": ["trends", "tests/test_m000.py::test_00007", "--db", db, "--format", "json"],
        "regressions": ["regressions", "--db", db, "--format", "json"],
        "anomalies": ["anomalies", "--db", db, "--format", "json"],
        "flaky": ["flaky", "--db", db, "--format", "json"],
        "forecast (linear)": ["forecast", "--db", db, "--method", "linear", "--format", "json"],
        "forecast (ets)": ["forecast", "--db", db, "--method", "ets", "--format", "json"],
        "compare": ["compare", "--db", db, "--format", "json"],
        "regressions --runs 500": ["regressions", "--db", db, "--runs", "500", "--format", "json"],
    }


def time_command(argv: list[str]) -> float:
    sink = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        code = main(argv)
    elapsed = time.perf_counter() - t
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed


def time_process(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of ``python -m testfleet ARGV`` as a fresh process
    (start-up and imports included). On a loaded machine the CPU time is the steadier figure."""
    import resource
    import subprocess

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu0, t = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "testfleet", *argv], capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t, children_cpu() - cpu0
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return elapsed, cpu


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--tests", type=int, default=2100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", type=Path, default=None, help="reuse or keep this file")
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = ns.db or Path(tmp) / "big.duckdb"
        if not path.exists():
            t = time.perf_counter()
            rows = build(path, ns.runs, ns.tests)
            print(f"built {path}: {rows:,} result rows, {ns.runs} runs in "
                  f"{time.perf_counter() - t:.1f} s, {path.stat().st_size / 2**20:.0f} MiB")
        print(f"{'command':<20} {'cold s':>8} {'median s':>9} {'max s':>7} {'process s':>10} "
              f"{'proc CPU s':>10}  ({ns.rounds} warm rounds; process: one fresh `python -m testfleet`)")
        for name, argv_ in commands(str(path)).items():
            cold = time_command(argv_)
            warm = [time_command(argv_) for _ in range(ns.rounds)]
            process, cpu = time_process(argv_)
            print(f"{name:<20} {cold:8.3f} {statistics.median(warm):9.3f} {max(warm):7.3f} "
                  f"{process:10.3f} {cpu:10.3f}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main_())
