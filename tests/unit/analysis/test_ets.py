"""The pure-Python ETS(A,Ad,N) fit: exact on noise-free series, its pieces checked alone, and
statsmodels' ``ETSModel`` (the ``[analysis]`` extra) as the reference on seeded series."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from testfleet.analysis.ets import (
    DampedTrendFit,
    fit_damped_trend,
    nelder_mead,
    relative_variance,
    seeded_sse,
    smooth,
)
from testfleet.analysis.forecast import Z80, Z95


def test_a_noise_free_damped_trend_is_continued_exactly_with_no_spread() -> None:
    level, trend, phi = 100.0, 4.0, 0.9
    ys = []
    for _ in range(30):  # y_t = l_{t-1} + phi b_{t-1}; with no errors l_t = y_t, b_t = phi b_{t-1}
        level, trend = level + phi * trend, phi * trend
        ys.append(level)
    fit = fit_damped_trend(ys)
    expected = []
    for _ in range(5):
        level, trend = level + phi * trend, phi * trend
        expected.append(level)
    assert [m for m, _ in fit.forecast(5)] == pytest.approx(expected, rel=1e-9)
    assert all(v == pytest.approx(0.0, abs=1e-12) for _, v in fit.forecast(5))


def test_the_variance_sum_equals_the_closed_form_of_fpp3() -> None:
    # forecast() sums c_j = alpha + beta * phi_j; FPP3 Table 8.8 gives the closed form.
    for alpha, beta, phi in [(0.3, 0.05, 0.9), (0.9, 0.8, 0.8), (0.01, 0.001, 0.98), (0.5, 0.5, 0.85)]:
        fit = DampedTrendFit(alpha, beta, phi, 0.0, 0.0, 10.0, 1.0, sse=2.0, n=1)
        for h, (_, variance) in enumerate(fit.forecast(8), start=1):
            assert variance == pytest.approx(2.0 * relative_variance(alpha, beta, phi, h), rel=1e-12)
    assert relative_variance(0.3, 0.05, 0.9, 1) == pytest.approx(1.0)
    assert relative_variance(0.3, 0.05, 0.9, 2) == pytest.approx(1.0 + (0.3 + 0.05 * 0.9) ** 2)


def test_the_seed_states_solved_for_are_the_best_ones() -> None:
    rng = random.Random(5)
    ys = [50.0 + 0.8 * t + rng.gauss(0.0, 2.0) for t in range(40)]
    alpha, beta, phi = 0.4, 0.1, 0.9
    sse, l0, b0 = seeded_sse(ys, alpha, beta, phi)
    assert smooth(ys, alpha, beta, phi, l0, b0)[0] == pytest.approx(sse, rel=1e-9)
    for dl, db in [(0.5, 0.0), (-0.5, 0.0), (0.0, 0.2), (0.0, -0.2), (0.3, -0.3)]:
        assert smooth(ys, alpha, beta, phi, l0 + dl, b0 + db)[0] > sse


def test_nelder_mead_finds_inner_and_boundary_minima() -> None:
    def bowl(cx: float, cy: float) -> Callable[[list[float]], float]:
        return lambda x: (x[0] - cx) ** 2 + 3.0 * (x[1] - cy) ** 2 + 0.5 * (x[0] - cx) * (x[1] - cy)

    bounds = [(0.0, 1.0), (0.8, 0.98)]
    x, value = nelder_mead(bowl(0.3, 0.9), [0.9, 0.8], bounds)
    assert x == pytest.approx([0.3, 0.9], abs=1e-4) and value == pytest.approx(0.0, abs=1e-8)
    x, _ = nelder_mead(bowl(1.5, 0.5), [0.2, 0.9], bounds)  # outside: the nearest corner
    assert x == pytest.approx([1.0, 0.8], abs=1e-4)


def test_the_fit_follows_shifts_and_scales_of_the_series() -> None:
    rng = random.Random(11)
    ys = [20.0 + 0.5 * t + rng.gauss(0.0, 1.0) for t in range(30)]
    base = fit_damped_trend(ys).forecast(3)
    moved = fit_damped_trend([1000.0 + 60.0 * y for y in ys]).forecast(3)
    for (m, v), (m2, v2) in zip(base, moved, strict=True):
        assert m2 == pytest.approx(1000.0 + 60.0 * m, rel=1e-6)
        assert v2 == pytest.approx(3600.0 * v, rel=1e-4)


def test_bad_series_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 4 values, got 3"):
        fit_damped_trend([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not a finite number"):
        fit_damped_trend([1.0, 2.0, math.nan, 3.0, 4.0])
    flat = fit_damped_trend([7.0] * 12).forecast(2)
    assert flat == [(pytest.approx(7.0), pytest.approx(0.0, abs=1e-12))] * 2


# --- statsmodels as the reference -------------------------------------------------------------


def seeded_series(kind: str, seed: int) -> list[float]:
    """Series like a suite's total test time: trends, a random walk with drift, a level shift,
    a damped trend drawn from the model itself, a suite growing every other run."""
    rng = random.Random(seed * 31 + 7)
    n = (12, 20, 30, 50, 100)[seed % 5]
    if kind == "trend":
        level, slope, sigma = rng.uniform(50, 200), rng.uniform(-0.5, 1.5), rng.uniform(1, 5)
        return [level + slope * t + rng.gauss(0.0, sigma) for t in range(n)]
    if kind == "walk":
        out, v = [], 100.0
        for _ in range(n):
            v += 0.3 + rng.gauss(0.0, 2.0)
            out.append(v)
        return out
    if kind == "shift":
        return [100.0 + (30.0 if t > n // 2 else 0.0) + rng.gauss(0.0, 3.0) for t in range(n)]
    if kind == "damped":
        out, level, trend = [], 100.0, 3.0
        for _ in range(n):
            e = rng.gauss(0.0, 2.0)
            out.append(level + 0.9 * trend + e)
            level, trend = level + 0.9 * trend + 0.3 * e, 0.9 * trend + 0.1 * e
        return out
    return [60.0 + 2.0 * (t // 2) + rng.gauss(0.0, 1.5) for t in range(n)]


CASES = [(kind, seed) for kind in ("trend", "walk", "shift", "damped", "grow") for seed in range(5)]
MEAN_TOL = 1e-3  # of the series' standard deviation
HALF_TOL = 1e-2  # relative, on the 95% half-width


def reference(
    ys: list[float], horizon: int, start: list[float] | None = None
) -> tuple[Any, list[float], list[float]]:
    """statsmodels' fit (from its default start, or from ``start``): the results, the means and
    the 95% half-widths of its analytic intervals."""
    pd = pytest.importorskip("pandas")
    ets = pytest.importorskip("statsmodels.tsa.exponential_smoothing.ets")
    y = pd.Series(ys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ets.ETSModel(y, error="add", trend="add", damped_trend=True).fit(
            start_params=start, disp=False
        )
        frame = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=0.05)
    means = [float(m) for m in frame["mean"]]
    halves = [
        (float(hi) - float(lo)) / 2.0 for lo, hi in zip(frame["pi_lower"], frame["pi_upper"], strict=True)
    ]
    return fitted, means, halves


def agree(ys: list[float], fit: DampedTrendFit, means: list[float], halves: list[float]) -> bool:
    sd = math.sqrt(sum((y - sum(ys) / len(ys)) ** 2 for y in ys) / len(ys))
    mine = fit.forecast(len(means))
    return all(
        abs(m - ref) <= MEAN_TOL * sd and abs(Z95 * math.sqrt(v) - half) <= HALF_TOL * half
        for (m, v), ref, half in zip(mine, means, halves, strict=True)
    )


def test_forecasts_and_95_intervals_agree_with_statsmodels() -> None:
    """On 25 seeded series (12 to 100 runs) the point forecasts agree with statsmodels' within
    0.1% of the series' standard deviation and the 95% half-widths within 1%, wherever both reach
    the same optimum (16 of the 25 when written). Elsewhere statsmodels' L-BFGS-B over all five
    parameters stopped at a worse local optimum (an SSE 0.01% to 51% larger): never a better one,
    and started from our estimate it stays there and agrees with us."""
    pytest.importorskip("statsmodels")
    same_optimum = 0
    for kind, seed in CASES:
        ys = seeded_series(kind, seed)
        fit = fit_damped_trend(ys)
        ref, means, halves = reference(ys, 5)
        assert fit.sse <= float(ref.sse) * (1 + 1e-6), (kind, seed, fit.sse, float(ref.sse))
        if agree(ys, fit, means, halves):
            same_optimum += 1
            continue
        assert fit.sse < float(ref.sse) * (1 - 1e-4), (kind, seed)  # not a tie: a better optimum
        ref, means, halves = reference(ys, 5, [fit.alpha, fit.beta, fit.phi, fit.level0, fit.trend0])
        assert float(ref.sse) == pytest.approx(fit.sse, rel=1e-5), (kind, seed)
        assert agree(ys, fit, means, halves), (kind, seed)
    assert same_optimum >= len(CASES) // 2, same_optimum


def test_with_the_same_parameters_the_intervals_are_statsmodels_own() -> None:
    """The recursion, sigma^2 = SSE/n and the variance formula, apart from the fit: statsmodels
    smoothing with our parameters gives our forecasts and 80% / 95% intervals to 1e-9."""
    pd = pytest.importorskip("pandas")
    ets = pytest.importorskip("statsmodels.tsa.exponential_smoothing.ets")
    for kind, seed in [("trend", 1), ("walk", 2), ("damped", 3)]:
        ys = seeded_series(kind, seed)
        fit = fit_damped_trend(ys)
        y = pd.Series(ys)
        model = ets.ETSModel(y, error="add", trend="add", damped_trend=True)
        smoothed = model.smooth([fit.alpha, fit.beta, fit.phi, fit.level0, fit.trend0])
        prediction = smoothed.get_prediction(start=len(y), end=len(y) + 5)
        f80, f95 = prediction.summary_frame(alpha=0.20), prediction.summary_frame(alpha=0.05)
        for (m, v), mean, lo80, lo95 in zip(
            fit.forecast(6), f95["mean"], f80["pi_lower"], f95["pi_lower"], strict=True
        ):
            assert m == pytest.approx(float(mean), rel=1e-9)
            assert m - Z80 * math.sqrt(v) == pytest.approx(float(lo80), rel=1e-9)
            assert m - Z95 * math.sqrt(v) == pytest.approx(float(lo95), rel=1e-9)
