"""Pure-Python statistics against reference values (from scipy.stats, which testfleet does not need)."""

from __future__ import annotations

import pytest

from testfleet.analysis.stats import beta_ppf, mad, mann_whitney, median, t_ppf


def test_median_and_mad() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert mad([1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]) == 1.0
    with pytest.raises(ValueError):
        median([])


def test_mann_whitney_matches_the_asymptotic_reference_with_ties() -> None:
    # scipy.stats.mannwhitneyu([1,1,2,2,3], [2,3,3,4,4,4], method="asymptotic").pvalue
    assert mann_whitney([1, 1, 2, 2, 3], [2, 3, 3, 4, 4, 4]) == pytest.approx(0.0304238, rel=1e-5)
    assert mann_whitney([1.0] * 5, [1.0] * 5) == 1.0  # all tied: undecidable
    assert mann_whitney([], [1.0]) == 1.0
    separated = mann_whitney([1.0, 1.1, 1.2, 1.05, 0.95, 1.15], [4.0, 4.1, 3.9, 4.2, 4.05, 3.95])
    assert separated < 0.01


@pytest.mark.parametrize(
    ("q", "a", "b", "expected"),
    [
        (0.025, 3.5, 27.5, 0.0289806),
        (0.975, 3.5, 27.5, 0.2434016),
        (0.5, 0.5, 40.5, 0.0056353),
        (0.975, 0.5, 0.5, 0.9984587),
    ],
)
def test_beta_quantiles(q: float, a: float, b: float, expected: float) -> None:
    assert beta_ppf(q, a, b) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("df", "expected"), [(3, 3.1824), (5, 2.5706), (10, 2.2281), (30, 2.0423)])
def test_t_quantiles(df: int, expected: float) -> None:
    assert t_ppf(0.975, df) == pytest.approx(expected, abs=5e-3)
