"""The analysis sections of the history page, behind one function: :func:`insights`.

The page asks this module, and only this module, for the flaky tests, the regressions and the
forecast band of the test-time chart. Today the flaky table comes from
:func:`testfleet.analysis.flaky.find_flaky`; regressions and the forecast have no analysis
function in this build, so they are ``None`` and the page says they are not available. When
the analysis functions exist, point :func:`insights` at them: the page already renders
:class:`Regression` rows and a :class:`Band` per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from testfleet.analysis.flaky import FlakyTest, find_flaky
from testfleet.dashboard import history
from testfleet.dashboard.history import TrendPoint

FLAKY_SHOWN = 50


@dataclass(frozen=True)
class Regression:
    """A test that got worse, with the evidence."""

    nodeid: str
    kind: str  # "new failure", "slower", ...
    since_run: str
    evidence: str


@dataclass(frozen=True)
class Band:
    """The expected range of total test time for one run (a forecast)."""

    run_id: str
    low: float
    high: float


@dataclass(frozen=True)
class Insights:
    flaky: list[FlakyTest]
    flaky_window: int  # runs looked at
    regressions: list[Regression] | None  # None: not available in this build
    forecast: list[Band] | None  # None: not available in this build


def insights(conn: Any, trend: Sequence[TrendPoint], window: int = history.TREND_RUNS) -> Insights:
    """The flaky tests, regressions and forecast band for the last ``window`` runs."""
    runs, results = history.verdict_history(conn, window)
    flaky = find_flaky(runs, results)[:FLAKY_SHOWN]
    return Insights(flaky=flaky, flaky_window=len(runs), regressions=None, forecast=None)
