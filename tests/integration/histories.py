"""Synthetic project histories with known answers, written to real DuckDB files through the store.

A :class:`Plan` says what happens: stable tests, tests that get slower at a known run, one that
gets faster, a suite that grows, flaky tests with known failure rates (some failures retried to a
pass), one test broken from some run on, a git commit every ``runs_per_commit`` runs, plus an
infrastructure run (most tests fail) and a partial ``-k`` run that history statistics must ignore.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from testfleet.model import RunInfo
from testfleet.model import TestResult as Result
from testfleet.store import open_store

T0 = 1_700_000_000.0
SPACING = 3600.0


@dataclass
class Plan:
    seed: int
    runs: int = 36
    stable: int = 12
    slowed: tuple[str, ...] = ("t_slow.py::test_a", "t_slow.py::test_b")
    slow_at: int = 14
    slow_factor: float = 4.0
    faster: str = "t_fast.py::test_c"
    fast_at: int = 18
    fast_factor: float = 0.3
    flaky: dict[str, float] = field(
        default_factory=lambda: {"t_flaky.py::test_low": 0.15, "t_flaky.py::test_high": 0.4}
    )
    broken: str = "t_broken.py::test_d"
    broken_at: int = 28
    grow_every: int = 3  # a new test every N runs
    runs_per_commit: int = 2
    noise: float = 0.06  # sigma of the log-normal timing noise
    infra_run: int = 9  # most tests fail in this run (a broken machine)
    partial_after: int = 20  # a `-k` run right after this one


@dataclass
class History:
    plan: Plan
    run_ids: list[str]  # whole-suite runs in order (the partial one not included)
    totals: list[float]  # total test time of each of them
    commits: list[str]


def run_id(i: int, seed: int) -> str:
    return f"{seed:04x}{i:08x}"


def build(path: Path, plan: Plan, upto: int | None = None) -> History:
    """Write runs ``0 .. upto-1`` of ``plan`` to ``path``; return what every run of the plan holds."""
    rng = random.Random(plan.seed)
    base = {f"t_stable.py::test_{i}": rng.uniform(0.1, 0.6) for i in range(plan.stable)}
    for nodeid in (*plan.slowed, plan.faster, *plan.flaky, plan.broken):
        base[nodeid] = rng.uniform(0.2, 0.6)
    store = open_store(path, rootdir=path.parent) if upto is None or upto > 0 else None
    hist = History(plan, [], [], [])
    stop = plan.runs if upto is None else upto
    for i in range(plan.runs):
        rid, commit = run_id(i, plan.seed), f"c{plan.seed}-{i // plan.runs_per_commit:03d}"
        tests = dict(base)
        for g in range(i // plan.grow_every):
            tests[f"t_new.py::test_{g}"] = 0.2 + 0.01 * g
        results = []
        for nodeid, seconds in sorted(tests.items()):
            if nodeid in plan.slowed and i >= plan.slow_at:
                seconds *= plan.slow_factor
            if nodeid == plan.faster and i >= plan.fast_at:
                seconds *= plan.fast_factor
            seconds *= math.exp(rng.gauss(0.0, plan.noise))
            outcome, flaky = "passed", False
            if nodeid in plan.flaky and rng.random() < plan.flaky[nodeid]:
                outcome = "failed"
                if rng.random() < 0.3:  # retried to a pass
                    results.append(
                        Result(
                            rid,
                            nodeid,
                            "failed",
                            attempt=1,
                            final=False,
                            call_duration=seconds,
                            message="AssertionError: wobble",
                        )
                    )
                    outcome, flaky = "passed", True
            if nodeid == plan.broken and i >= plan.broken_at:
                outcome = "failed"
            if i == plan.infra_run and nodeid != plan.faster:
                outcome = "error"
            message = None if outcome == "passed" else f"AssertionError: {nodeid} failed in {i}"
            results.append(
                Result(
                    rid,
                    nodeid,
                    outcome,
                    attempt=2 if flaky else 1,
                    flaky=flaky,
                    call_duration=seconds,
                    message=message,
                    start=T0 + i * SPACING,
                )
            )
        total = sum(r.call_duration for r in results if r.final)
        hist.run_ids.append(rid)
        hist.totals.append(total)
        hist.commits.append(commit)
        if store is None or i >= stop:
            continue
        start = T0 + i * SPACING
        store.start_run(RunInfo(run_id=rid, start=start, git_commit=commit, collected=len(tests)))
        store.add_results(results)
        store.finish_run(rid, "finished", start + total / 4 + rng.uniform(1, 3), 0, {})
        if i == plan.partial_after:  # a -k run of two tests, both failing: must not count
            pid = f"{plan.seed:04x}ffff{i:04x}"
            store.start_run(
                RunInfo(
                    run_id=pid,
                    start=start + 60,
                    git_commit=commit,
                    collected=2,
                    partial=True,
                    args=["-k", "stable"],
                )
            )
            store.add_results(
                [
                    Result(pid, nodeid, "failed", call_duration=50.0, message="partial")
                    for nodeid in list(base)[:2]
                ]
            )
            store.finish_run(pid, "finished", start + 70, 1, {})
    if store is not None:
        store.close()
    return hist
