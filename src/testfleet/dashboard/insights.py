"""The analysis sections of the history page, behind one function: :func:`insights`.

The page asks this module, and only this module, for the flaky tests, the regressions and the
forecast band of the test-time chart, all from :mod:`testfleet.analysis` on the same window of
runs the history commands read (``testfleet flaky``, ``regressions``, ``forecast``):

* the window is :data:`testfleet.store.history.RUN_STATS` (the latest finished whole-suite runs;
  partial, interrupted and running runs are left out) and each test's series over it
  (:func:`testfleet.store.history.test_series_sql`), run on the page's own read-only session --
  the dashboard never opens a store object, which may migrate or repair the file;
* flaky: :func:`testfleet.analysis.flaky.find_flaky` over the tests that failed or were retried
  in the window (a test that never failed is healthy);
* regressions: :func:`testfleet.analysis.changepoints.find_regressions` over the tests whose
  passing durations spread enough to hold a step (the others cannot), slowdowns only, the
  suite's total test time included;
* forecast: :func:`testfleet.analysis.forecast.forecast` of the chart's total test time over its
  finished whole-suite runs, with its 80% and 95% intervals for the next :data:`HORIZON` runs
  (:func:`time_forecast`, which the static report uses too).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from testfleet.analysis.changepoints import (
    DEFAULT_MIN_RATIO,
    DEFAULT_MIN_SECONDS,
    Step,
    find_regressions,
)
from testfleet.analysis.flaky import FlakyTest, find_flaky
from testfleet.analysis.forecast import MIN_POINTS, Forecast, forecast
from testfleet.dashboard import history
from testfleet.dashboard.history import TrendPoint
from testfleet.model import FAILURE_VALUES
from testfleet.store.history import (
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


def window_series(
    conn: Any,
    runs: Sequence[RunStats],
    *,
    failing_only: bool = False,
    spread: tuple[float, float] | None = None,
) -> list[TestSeries]:
    """Each test's series over ``runs`` (``Store.test_series``), filtered in the database."""
    if not runs:
        return []
    sql = test_series_sql(filtered=False, failing_only=failing_only, spread=spread)
    rows = conn.execute(sql, [[r.run_id for r in runs], list(range(len(runs)))]).fetchall()
    return [series_from_row(r) for r in rows]


def insights(conn: Any, trend: Sequence[TrendPoint], window: int = history.TREND_RUNS) -> Insights:
    """The flaky tests, regressions and forecast band for the last ``window`` whole-suite runs."""
    runs = window_runs(conn, window)
    flaky = find_flaky(runs, window_series(conn, runs, failing_only=True))[:FLAKY_SHOWN]
    spread = (DEFAULT_MIN_SECONDS, DEFAULT_MIN_RATIO)  # what a step must exceed anyway
    found = find_regressions(runs, window_series(conn, runs, spread=spread))
    suite = [s for s in found.suite if s.after_s > s.before_s]
    regressions = (suite + found.regressions)[:REGRESSIONS_SHOWN]
    return Insights(flaky, len(runs), regressions, time_forecast(trend))


def time_forecast(trend: Sequence[TrendPoint]) -> Forecast | None:
    """The forecast of the chart's total test time over the finished whole-suite runs of
    ``trend`` (partial, interrupted and running runs would be outliers of that series); ``None``
    with fewer than :data:`MIN_POINTS` of them."""
    values = [p.test_seconds for p in trend if p.whole]
    if len(values) < MIN_POINTS:
        return None
    return forecast(values, HORIZON, metric="total-duration")


def warm_up() -> threading.Thread:
    """Import the forecast's statsmodels in the background, so the first page does not wait
    for it (about a second)."""

    def load() -> None:
        from testfleet.analysis.forecast import statsmodels_available

        if statsmodels_available():
            from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: F401

    thread = threading.Thread(target=load, name="testfleet-warm-forecast", daemon=True)
    thread.start()
    return thread
