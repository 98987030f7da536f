"""Forecasts of a per-run metric with 80% and 95% prediction intervals.

Two methods (docs/analysis.md "forecast"):

* ``ets`` -- exponential smoothing with additive errors and an additive *damped* trend,
  ETS(A,Ad,N), fitted by maximum likelihood in pure Python (:mod:`testfleet.analysis.ets`,
  which has the references); its intervals are the model's analytic prediction intervals,
  widened by :func:`envelope`. Needs at least :data:`ETS_MIN_POINTS` runs. statsmodels'
  ``ETSModel`` (the optional extra ``testfleet[analysis]``) is the reference it is tested
  against, never imported here: importing it costs a one-shot command 1-2 s.
* ``linear`` -- ordinary least squares on the last ``fit_window`` runs (default 20: the recent
  level, not the whole history) with the classic prediction interval
  ``yhat +- t(df=n-2) * s * sqrt(1 + 1/n + (x0 - xbar)^2 / Sxx)``. Pure Python; used when the
  history is short.

``auto`` picks ``ets`` from :data:`ETS_MIN_POINTS` runs on (and ``linear`` if its fit fails),
``linear`` below. Metrics are never negative, so the bounds are clipped at 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from testfleet.analysis.ets import fit_damped_trend
from testfleet.analysis.stats import t_ppf
from testfleet.store.history import RunStats

METRICS = ("total-duration", "wall", "failures")
METHODS = ("auto", "ets", "linear")
ETS_MIN_POINTS = 10
MIN_POINTS = 3
DEFAULT_HORIZON = 5
DEFAULT_FIT_WINDOW = 20
Z80 = NormalDist().inv_cdf(0.90)
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class ForecastPoint:
    step: int  # 1 = the next run
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float

    def as_dict(self) -> dict[str, object]:
        return {
            "step": self.step,
            **{k: round(getattr(self, k), 6) for k in ("mean", "lo80", "hi80", "lo95", "hi95")},
        }


@dataclass(frozen=True)
class Forecast:
    metric: str
    method: str  # the method used: ets or linear
    history: int  # runs it was fitted on
    points: tuple[ForecastPoint, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "method": self.method,
            "history": self.history,
            "points": [p.as_dict() for p in self.points],
        }


def metric_values(runs: Sequence[RunStats], metric: str) -> list[float]:
    """The series of ``metric`` (one of :data:`METRICS`) over ``runs``, skipping unknown values."""
    if metric == "total-duration":
        return [r.test_seconds for r in runs]
    if metric == "wall":
        return [w for w in (r.wall_seconds for r in runs) if w is not None]
    if metric == "failures":
        return [float(r.failed) for r in runs]
    raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")


def forecast(
    values: Sequence[float],
    horizon: int = DEFAULT_HORIZON,
    *,
    metric: str = "",
    method: str = "auto",
    fit_window: int = DEFAULT_FIT_WINDOW,
) -> Forecast:
    """Forecast the next ``horizon`` values of ``values`` (oldest first)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, not {horizon}")
    if len(values) < MIN_POINTS:
        raise ValueError(f"a forecast needs at least {MIN_POINTS} runs, got {len(values)}")
    if method == "ets" or (method == "auto" and len(values) >= ETS_MIN_POINTS):
        if len(values) < ETS_MIN_POINTS:
            raise ValueError(f"method ets needs at least {ETS_MIN_POINTS} runs, got {len(values)}")
        try:
            points = ets_points(values, horizon)
            window = list(values)[-fit_window:] if fit_window > 0 else list(values)
            return Forecast(metric, "ets", len(values), envelope(points, linear_points(window, horizon)))
        except (ArithmeticError, ValueError):
            if method == "ets":
                raise
    window = list(values)[-fit_window:] if fit_window > 0 else list(values)
    return Forecast(metric, "linear", len(window), linear_points(window, horizon))


def envelope(ets: Sequence[ForecastPoint], linear: Sequence[ForecastPoint]) -> tuple[ForecastPoint, ...]:
    """ETS's forecasts with each interval widened to cover the linear method's too.

    ETS intervals leave out the uncertainty of the fitted parameters, and the damping pulls a
    persistent trend back: on simulated linear-trend series their 95% intervals held only ~83%
    of held-out points. The envelope keeps ETS's point forecast and adaptivity (level shifts)
    and is at least as wide as the linear interval, which is honest on trends."""
    return tuple(
        ForecastPoint(
            e.step,
            e.mean,
            min(e.lo80, max(lin.lo80, 0.0)),
            max(e.hi80, lin.hi80),
            min(e.lo95, max(lin.lo95, 0.0)),
            max(e.hi95, lin.hi95),
        )
        for e, lin in zip(ets, linear, strict=True)
    )


def _point(step: int, mean: float, half80: float, half95: float) -> ForecastPoint:
    return ForecastPoint(
        step,
        max(mean, 0.0),
        max(mean - half80, 0.0),
        max(mean + half80, 0.0),
        max(mean - half95, 0.0),
        max(mean + half95, 0.0),
    )


def linear_points(values: Sequence[float], horizon: int) -> tuple[ForecastPoint, ...]:
    """Least-squares line with prediction intervals (pure Python)."""
    n = len(values)
    xbar = (n - 1) / 2.0
    ybar = sum(values) / n
    sxx = sum((i - xbar) ** 2 for i in range(n))
    slope = sum((i - xbar) * (y - ybar) for i, y in enumerate(values)) / sxx
    intercept = ybar - slope * xbar
    df = n - 2
    sse = sum((y - (intercept + slope * i)) ** 2 for i, y in enumerate(values))
    s = math.sqrt(sse / df) if df > 0 else 0.0
    t80, t95 = (t_ppf(0.90, df), t_ppf(0.975, df)) if df > 0 else (0.0, 0.0)
    out = []
    for step in range(1, horizon + 1):
        x0 = n - 1 + step
        se = s * math.sqrt(1.0 + 1.0 / n + (x0 - xbar) ** 2 / sxx)
        out.append(_point(step, intercept + slope * x0, t80 * se, t95 * se))
    return tuple(out)


def ets_points(values: Sequence[float], horizon: int) -> tuple[ForecastPoint, ...]:
    """Damped-trend exponential smoothing (:func:`~testfleet.analysis.ets.fit_damped_trend`)
    with its analytic intervals (normal quantiles, as statsmodels' ``ETSModel``)."""
    out = []
    for step, (mean, variance) in enumerate(fit_damped_trend(values).forecast(horizon), start=1):
        sd = math.sqrt(variance)
        out.append(_point(step, mean, Z80 * sd, Z95 * sd))
    return tuple(out)
