"""Forecasts: exact on a line, honest intervals on noisy series (coverage on held-out points)."""

from __future__ import annotations

import random

import pytest

from testfleet.analysis.forecast import forecast, linear_points, statsmodels_available


def test_a_perfect_line_is_continued_with_no_spread() -> None:
    points = linear_points([10.0, 12.0, 14.0, 16.0], 2)
    assert [(p.step, p.mean, p.lo95, p.hi95) for p in points] == [(1, 18.0, 18.0, 18.0), (2, 20.0, 20.0, 20.0)]


def test_bounds_are_clipped_at_zero_and_bad_arguments_refused() -> None:
    (p,) = forecast([5.0, 3.0, 1.0, 0.5], 1, method="linear").points
    assert p.lo95 == 0.0 and p.mean == 0.0
    with pytest.raises(ValueError, match="at least 3 runs"):
        forecast([1.0, 2.0], 1)
    with pytest.raises(ValueError, match="horizon"):
        forecast([1.0, 2.0, 3.0], 0)
    with pytest.raises(ValueError, match="unknown method"):
        forecast([1.0, 2.0, 3.0], 1, method="magic")


def coverage(method: str, series: int = 60) -> tuple[float, float]:
    """Share of held-out points inside the 80% and 95% intervals over random trending series."""
    rng = random.Random(42)
    in80 = in95 = total = 0
    for _ in range(series):
        level, slope, sigma = rng.uniform(50, 200), rng.uniform(-0.5, 1.5), rng.uniform(1, 5)
        ys = [level + slope * t + rng.gauss(0.0, sigma) for t in range(35)]
        result = forecast(ys[:30], 5, method=method)
        for p, y in zip(result.points, ys[30:], strict=True):
            in80 += p.lo80 <= y <= p.hi80
            in95 += p.lo95 <= y <= p.hi95
            total += 1
    return in80 / total, in95 / total


def test_linear_intervals_are_honest() -> None:
    c80, c95 = coverage("linear")
    assert 0.72 <= c80 <= 0.90 and 0.90 <= c95 <= 0.99


@pytest.mark.skipif(not statsmodels_available(), reason="statsmodels (testfleet[analysis]) not installed")
def test_ets_intervals_are_honest() -> None:
    c80, c95 = coverage("ets", series=20)  # ETS's own intervals alone held ~83% at 95%
    assert 0.72 <= c80 <= 0.95 and 0.90 <= c95 <= 1.0
    assert forecast([float(i) for i in range(12)], 1).method == "ets"  # auto prefers it
