"""History queries: what the analysis commands read, aggregated by the database.

Two shapes cover every history command (trends, regressions, anomalies, forecast, flaky):

* :class:`RunStats`: one row per run (counts, total test time, wall time, flaky count), computed
  with one ``GROUP BY`` over ``results``;
* :class:`TestSeries`: one row per test holding its final outcome, duration and retried flag in
  each run of a window, as parallel lists ordered by run (DuckDB's ``list(... ORDER BY ...)``),
  so Python never loops over result rows, only over tests.

Which runs count (:func:`eligible`): finished runs of the whole suite. Partial runs (``-k``,
``-m``, node ids, shards, resumed parts) and interrupted runs are left out unless asked for
with ``include_partial``. A run still running never counts.

Nothing here imports DuckDB; the SQL runs in :mod:`testfleet.store.duckdb`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from testfleet.model import FAILURE_VALUES, Outcome, RunInfo, RunStatus, TestResult

# Outcomes that are a verdict on the test: it ran and passed, or ran and failed.
FAILING_VERDICTS = frozenset(FAILURE_VALUES - {Outcome.UNSCHEDULABLE.value})
SKIPPED = frozenset({Outcome.SKIPPED.value, Outcome.XFAILED.value})


@dataclass(frozen=True)
class RunStats:
    """One run's aggregates. ``failed`` counts every failing outcome (failed, error, crashed,
    timeout, unschedulable); ``test_seconds`` is the sum of the final attempts' durations."""

    run_id: str
    start: float
    end: float | None
    git_commit: str | None
    partial: bool
    status: str
    tests: int
    passed: int
    failed: int
    skipped: int
    flaky: int
    test_seconds: float

    @property
    def wall_seconds(self) -> float | None:
        return None if self.end is None else max(self.end - self.start, 0.0)

    @property
    def pass_rate(self) -> float | None:
        """Passed over passed + failed; ``None`` when nothing gave a verdict."""
        verdicts = self.passed + self.failed
        return self.passed / verdicts if verdicts else None

    def as_dict(self) -> dict[str, object]:
        rate = self.pass_rate
        wall = self.wall_seconds
        return {
            "run_id": self.run_id,
            "start": self.start,
            "commit": self.git_commit,
            "partial": self.partial,
            "status": self.status,
            "tests": self.tests,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "flaky": self.flaky,
            "pass_rate": None if rate is None else round(rate, 6),
            "test_seconds": round(self.test_seconds, 6),
            "wall_seconds": None if wall is None else round(wall, 6),
        }


@dataclass(frozen=True)
class TestSeries:
    """One test across a window of runs. ``runs`` are indices into the window (oldest first,
    as :meth:`Store.run_stats` returns it); the other tuples are parallel to it."""

    __test__ = False

    nodeid: str
    runs: tuple[int, ...]
    outcomes: tuple[str, ...]
    durations: tuple[float, ...]
    retried: tuple[bool, ...]  # the final attempt passed after a failed one in that run


def eligible(run: RunInfo, include_partial: bool) -> bool:
    """Whether ``run`` counts in history statistics."""
    if run.status == RunStatus.RUNNING.value:
        return False
    return include_partial or (run.status == RunStatus.FINISHED.value and not run.partial)


def stats_from_results(run: RunInfo, results: Sequence[TestResult]) -> RunStats:
    """:class:`RunStats` of one run from its stored results (the in-memory backend's way)."""
    final = [r for r in results if r.final]
    return RunStats(
        run_id=run.run_id,
        start=run.start,
        end=run.end,
        git_commit=run.git_commit,
        partial=run.partial,
        status=run.status,
        tests=len(final),
        passed=sum(r.outcome == Outcome.PASSED.value for r in final),
        failed=sum(r.outcome in FAILURE_VALUES for r in final),
        skipped=sum(r.outcome in SKIPPED for r in final),
        flaky=sum(bool(r.flaky) for r in final),
        test_seconds=sum(r.duration for r in final),
    )


_ELIGIBLE = """status <> 'running'
    AND (? OR (status = 'finished' AND NOT coalesce(partial, false))) AND start < ?"""

# Parameters: include_partial, before (epoch s), limit, failing outcomes, skipped outcomes. The newest ``limit`` eligible runs; oldest first.
RUN_STATS = f"""
    WITH w AS (
        SELECT id, start, "end", git_commit, coalesce(partial, false) AS partial, status
        FROM runs WHERE {_ELIGIBLE} ORDER BY start DESC LIMIT ?
    )
    SELECT w.id, w.start, w."end", w.git_commit, w.partial, w.status,
           count(r.nodeid),
           count(*) FILTER (WHERE r.outcome = 'passed'),
           count(*) FILTER (WHERE list_contains(?::VARCHAR[], r.outcome)),
           count(*) FILTER (WHERE list_contains(?::VARCHAR[], r.outcome)),
           count(*) FILTER (WHERE r.flaky),
           coalesce(sum(r.setup_duration + r.call_duration + r.teardown_duration), 0)
    FROM w LEFT JOIN results r ON r.run_id = w.id AND r.final
    GROUP BY ALL ORDER BY w.start, w.id"""

# Parameters: run ids, their window indices, [nodeids]. One row per test.
TEST_SERIES = """
    WITH w AS (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::INTEGER[]) AS k)
    SELECT r.nodeid,
           list(w.k ORDER BY w.k),
           list(r.outcome ORDER BY w.k),
           list(r.setup_duration + r.call_duration + r.teardown_duration ORDER BY w.k),
           list(coalesce(r.flaky, false) ORDER BY w.k)
    FROM results r JOIN w ON r.run_id = w.id
    WHERE r.final {nodeids}
    GROUP BY r.nodeid {having} ORDER BY r.nodeid"""

# Parameters: run ids, failing outcomes. Distinct failures, for failure signatures.
FAILURE_MESSAGES = """
    SELECT DISTINCT outcome, message FROM results
    WHERE final AND run_id IN (SELECT unnest(?::VARCHAR[])) AND list_contains(?::VARCHAR[], outcome)"""


_PASSING_D = "(r.setup_duration + r.call_duration + r.teardown_duration) FILTER (WHERE r.outcome = 'passed')"


def test_series_sql(
    *, filtered: bool, failing_only: bool = False, spread: tuple[float, float] | None = None
) -> str:
    """The TEST_SERIES query; ``spread=(seconds, ratio)`` keeps only tests whose passing
    durations span at least that much (what a duration step must exceed anyway)."""
    failing = ", ".join(f"'{o}'" for o in sorted(FAILING_VERDICTS))  # constants, not user input
    having = []
    if failing_only:
        having.append(f"bool_or(r.outcome IN ({failing}) OR coalesce(r.flaky, false))")
    if spread is not None:
        seconds, ratio = (float(x) for x in spread)
        if not (math.isfinite(seconds) and math.isfinite(ratio)):
            raise ValueError(f"spread must be finite numbers, not {spread}")
        having.append(
            f"max{_PASSING_D} - min{_PASSING_D} >= {seconds!r} "
            f"AND max{_PASSING_D} >= min{_PASSING_D} * {ratio!r}"
        )
    return TEST_SERIES.format(
        nodeids="AND r.nodeid IN (SELECT unnest(?::VARCHAR[]))" if filtered else "",
        having=("HAVING " + " AND ".join(having)) if having else "",
    )


def spread_at_least(outcomes: Sequence[str], durations: Sequence[float], spread: tuple[float, float]) -> bool:
    """The in-memory twin of ``spread`` in :func:`test_series_sql`."""
    passing = [d for o, d in zip(outcomes, durations, strict=True) if o == "passed"]
    if not passing:
        return False
    lo, hi = min(passing), max(passing)
    return hi - lo >= spread[0] and hi >= lo * spread[1]


def ever_failed(outcomes: Sequence[str], retried: Sequence[bool]) -> bool:
    """Whether a series has a failing verdict or a retried pass (``failing_only``)."""
    return any(o in FAILING_VERDICTS for o in outcomes) or any(retried)


def run_stats_from_row(row: tuple[Any, ...]) -> RunStats:
    (run_id, start, end, commit, partial, status, tests, passed, failed, skipped, flaky, seconds) = row
    return RunStats(
        run_id=run_id,
        start=float(start),
        end=None if end is None else float(end),
        git_commit=commit,
        partial=bool(partial),
        status=status,
        tests=int(tests),
        passed=int(passed),
        failed=int(failed),
        skipped=int(skipped),
        flaky=int(flaky),
        test_seconds=float(seconds),
    )


def series_from_row(row: tuple[Any, ...]) -> TestSeries:
    nodeid, runs, outcomes, durations, retried = row
    return TestSeries(
        nodeid,
        tuple(runs),
        tuple(outcomes),
        tuple(float(d or 0.0) for d in durations),
        tuple(bool(x) for x in retried),
    )
