"""The analysis sections of the history page, behind one function: :func:`insights`.

The page asks this module, and only this module, for the flaky tests, the regressions and the
forecast band of the test-time chart, all from :mod:`testfleet.analysis` on the same window of
runs the history commands read (``testfleet flaky``, ``regressions``, ``forecast``):

* the window is :data:`testfleet.store.history.RUN_STATS` (the latest finished whole-suite runs;
  partial, interrupted and running runs are left out) and the series of some tests over it
  (:func:`testfleet.store.history.test_series_sql`), run on the page's own read-only session --
  the dashboard never opens a store object, which may migrate or repair the file;
* flaky: the verdicts of :mod:`testfleet.analysis.flaky` (what ``find_flaky`` returns, the first
  :data:`FLAKY_SHOWN`) over the tests that failed or passed on a retry in the window;
* regressions: :func:`testfleet.analysis.changepoints.find_regressions` over the tests whose
  passing durations spread enough to hold a step (the others cannot), slowdowns only, the
  suite's total test time included;
* forecast: :func:`testfleet.analysis.forecast.forecast` of the chart's total test time over its
  finished whole-suite runs, with its 80% and 95% intervals for the next :data:`HORIZON` runs
  (:func:`time_forecast`, which the static report uses too).

The page must answer in under a second on a store of a million results (benchmarks/RESULTS.md,
*dashboard*), hence the candidate queries before the series and the linear forecast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from testfleet.analysis.changepoints import (
    DEFAULT_MIN_RATIO,
    DEFAULT_MIN_SECONDS,
    Step,
    find_regressions,
)
from testfleet.analysis.flaky import STATUSES, FlakyTest, assess, credible_interval, infrastructure_runs
from testfleet.analysis.forecast import MIN_POINTS, Forecast, forecast
from testfleet.dashboard import history
from testfleet.dashboard.history import TrendPoint
from testfleet.model import FAILURE_VALUES
from testfleet.store.history import (
    FAILING_VERDICTS,
    RUN_STATS,
    SKIPPED,
    RunStats,
    TestSeries,
    run_stats_from_row,
    series_from_row,
    test_series_sql,
)

FLAKY_SHOWN = 50
REGRESSIONS_SHOWN = 50
HORIZON = 5  # runs forecast
METHOD = "linear"  # see time_forecast


@dataclass(frozen=True)
class Insights:
    flaky: list[FlakyTest]  # flaky first (most probable first), then broken
    window: int  # whole-suite runs looked at
    regressions: list[Step]  # slowdowns, the biggest ratio first
    forecast: Forecast | None  # None: fewer than MIN_POINTS runs in the window


def window_runs(conn: Any, last: int) -> list[RunStats]:
    """The latest ``last`` finished whole-suite runs, oldest first (``Store.run_stats``)."""
    rows = conn.execute(
        RUN_STATS, [False, math.inf, last, sorted(FAILURE_VALUES), sorted(SKIPPED)]
    ).fetchall()
    return [run_stats_from_row(r) for r in rows]


_WINDOW = "WITH w AS (SELECT unnest(?::VARCHAR[]) AS run_id)"
_FAILING = "(" + ", ".join(f"'{o}'" for o in sorted(FAILING_VERDICTS)) + ")"  # constants
_SECONDS = "setup_duration + call_duration + teardown_duration"
# The tests that failed or passed on a retry in the window: the only ones that can be flaky.
FAILED_SOMETIME = f"""{_WINDOW}
    SELECT DISTINCT nodeid FROM results JOIN w USING (run_id)
    WHERE final AND (coalesce(flaky, false) OR outcome IN {_FAILING})"""
# The tests whose passing durations spread by at least ? seconds and ? times: the only ones
# whose duration can have a step (``find_regressions`` keeps no smaller one).
SPREAD_ENOUGH = f"""{_WINDOW}
    SELECT nodeid FROM results JOIN w USING (run_id) WHERE final AND outcome = 'passed'
    GROUP BY nodeid HAVING max({_SECONDS}) - min({_SECONDS}) >= ? AND max({_SECONDS}) >= min({_SECONDS}) * ?"""


def window_series(conn: Any, runs: Sequence[RunStats], candidates: str, *params: Any) -> list[TestSeries]:
    """The series over ``runs`` (``Store.test_series``) of the tests the ``candidates`` query
    picks. Picking them first with plain aggregates, then reading only their series, is what
    keeps the page fast: a series query over every test of 50 runs of 10,000 tests takes ~0.4 s."""
    if not runs:
        return []
    ids = [r.run_id for r in runs]
    nodeids = [n for (n,) in conn.execute(candidates, [ids, *params]).fetchall()]
    if not nodeids:
        return []
    sql = test_series_sql(filtered=True)
    rows = conn.execute(sql, [ids, list(range(len(ids))), nodeids]).fetchall()
    return [series_from_row(r) for r in rows]


def top_flaky(runs: Sequence[RunStats], series: Sequence[TestSeries], shown: int) -> list[FlakyTest]:
    """``find_flaky(runs, series)[:shown]``, with the credible interval computed only for the
    tests shown (each costs ~1 ms; a store can have hundreds of failing tests)."""
    skip = infrastructure_runs(runs)
    found = [assess(runs, s, skip=skip, interval=False) for s in series]
    rank = {status: i for i, status in enumerate(STATUSES)}
    kept = sorted(
        (f for f in found if f is not None and f.status != "healthy"),
        key=lambda f: (rank[f.status], -f.probability, f.nodeid),
    )[:shown]
    return [replace(f, interval=credible_interval(f.failures, f.runs)) for f in kept]


def insights(conn: Any, trend: Sequence[TrendPoint], window: int = history.TREND_RUNS) -> Insights:
    """The flaky tests, regressions and forecast band for the last ``window`` whole-suite runs."""
    runs = window_runs(conn, window)
    flaky = top_flaky(runs, window_series(conn, runs, FAILED_SOMETIME), FLAKY_SHOWN)
    series = window_series(conn, runs, SPREAD_ENOUGH, DEFAULT_MIN_SECONDS, DEFAULT_MIN_RATIO)
    found = find_regressions(runs, series)
    suite = [s for s in found.suite if s.after_s > s.before_s]
    regressions = (suite + found.regressions)[:REGRESSIONS_SHOWN]
    return Insights(flaky, len(runs), regressions, time_forecast(trend))


def time_forecast(trend: Sequence[TrendPoint]) -> Forecast | None:
    """The forecast of the chart's total test time over the finished whole-suite runs of
    ``trend`` (partial, interrupted and running runs would be outliers of that series); ``None``
    with fewer than :data:`MIN_POINTS` of them. The linear method (over the last 20 of them,
    under 1 ms): exponential smoothing (``testfleet forecast``'s default, pure Python) costs
    0.05-0.1 s a fit on 100 runs, a tenth of the budget of a page that must answer in under a
    second."""
    values = [p.test_seconds for p in trend if p.whole]
    if len(values) < MIN_POINTS:
        return None
    return forecast(values, HORIZON, metric="total-duration", method=METHOD)
