"""Forecasts of a per-run metric with 80% and 95% prediction intervals.

Two methods (docs/analysis.md "forecast"):

* ``ets`` -- exponential smoothing with additive errors and an additive *damped* trend
  (Gardner & McKenzie 1985; Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*,
  ch. 8), fitted by maximum likelihood with statsmodels' ``ETSModel``; its intervals are the
  model's analytic prediction intervals. Needs the optional extra ``testfleet[analysis]``
  (statsmodels) and at least :data:`ETS_MIN_POINTS` runs.
* ``linear`` -- ordinary least squares on the last ``fit_window`` runs (default 20: the recent
  level, not the whole history) with the classic prediction interval
  ``yhat +- t(df=n-2) * s * sqrt(1 + 1/n + (x0 - xbar)^2 / Sxx)``. Pure Python; used when
  statsmodels is missing or the history is short.

``auto`` picks ``ets`` when it can and ``linear`` otherwise. Metrics are never negative, so
the bounds are clipped at 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from testfleet.analysis.stats import t_ppf
from testfleet.store.history import RunStats

METRICS = ("total-duration", "wall", "failures")
METHODS = ("auto", "ets", "linear")
ETS_MIN_POINTS = 10
MIN_POINTS = 3
DEFAULT_HORIZON = 5
DEFAULT_FIT_WINDOW = 20


@dataclass(frozen=True)
class ForecastPoint:
    step: int  # 1 = the next run
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float

    def as_dict(self) -> dict[str, object]:
        return {"step": self.step, **{k: round(getattr(self, k), 6)
                                      for k in ("mean", "lo80", "hi80", "lo95", "hi95")}}


@dataclass(frozen=True)
class Forecast:
    metric: str
    method: str  # the method used: ets or linear
    history: int  # runs it was fitted on
    points: tuple[ForecastPoint, ...]

    def as_dict(self) -> dict[str, object]:
        return {"metric": self.metric, "method": self.method, "history": self.history,
                "points": [p.as_dict() for p in self.points]}


def metric_values(runs: Sequence[RunStats], metric: str) -> list[float]:
    """The series of ``metric`` (one of :data:`METRICS`) over ``runs``, skipping unknown values."""
    if metric == "total-duration":
        return [r.test_seconds for r in runs]
    if metric == "wall":
        return [w for w in (r.wall_seconds for r in runs) if w is not None]
    if metric == "failures":
        return [float(r.failed) for r in runs]
    raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")


def statsmodels_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("statsmodels") is not None


def forecast(values: Sequence[float], horizon: int = DEFAULT_HORIZON, *, metric: str = "",
             method: str = "auto", fit_window: int = DEFAULT_FIT_WINDOW) -> Forecast:
    """Forecast the next ``horizon`` values of ``values`` (oldest first)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, not {horizon}")
    if len(values) < MIN_POINTS:
        raise ValueError(f"a forecast needs at least {MIN_POINTS} runs, got {len(values)}")
    if method == "ets" or (method == "auto" and len(values) >= ETS_MIN_POINTS
                           and statsmodels_available()):
        if len(values) < ETS_MIN_POINTS:
            raise ValueError(f"method ets needs at least {ETS_MIN_POINTS} runs, got {len(values)}")
        try:
            points = ets_points(values, horizon)
            window = list(values)[-fit_window:] if fit_window > 0 else list(values)
            return Forecast(metric, "ets", len(values), envelope(points, linear_points(window, horizon)))
        except (ArithmeticError, ValueError, np_errors()):
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
    return tuple(ForecastPoint(e.step, e.mean, min(e.lo80, max(lin.lo80, 0.0)), max(e.hi80, lin.hi80),
                               min(e.lo95, max(lin.lo95, 0.0)), max(e.hi95, lin.hi95))
                 for e, lin in zip(ets, linear, strict=True))


def np_errors() -> type[Exception]:
    """numpy's LinAlgError when numpy is installed (statsmodels fits may raise it)."""
    try:
        from numpy.linalg import LinAlgError
    except ImportError:  # pragma: no cover - statsmodels brings numpy
        return ArithmeticError
    return LinAlgError


def _point(step: int, mean: float, half80: float, half95: float) -> ForecastPoint:
    return ForecastPoint(step, max(mean, 0.0), max(mean - half80, 0.0), max(mean + half80, 0.0),
                         max(mean - half95, 0.0), max(mean + half95, 0.0))


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
    """Damped-trend exponential smoothing (statsmodels ``ETSModel``) with its intervals."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series([float(v) for v in values])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ETSModel(y, error="add", trend="add", damped_trend=True).fit(disp=False)
        prediction = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1)
        f80 = prediction.summary_frame(alpha=0.20)
        f95 = prediction.summary_frame(alpha=0.05)
    means = [float(m) for m in f95["mean"]]
    half80 = [(float(hi) - float(lo)) / 2.0 for lo, hi in zip(f80["pi_lower"], f80["pi_upper"], strict=True)]
    half95 = [(float(hi) - float(lo)) / 2.0 for lo, hi in zip(f95["pi_lower"], f95["pi_upper"], strict=True)]
    if not all(math.isfinite(v) for v in (*means, *half80, *half95)):
        raise ArithmeticError("the exponential smoothing fit did not converge")
    return tuple(_point(i + 1, m, h8, h9) for i, (m, h8, h9) in enumerate(zip(means, half80, half95, strict=True)))
