"""Change points in durations: found where they are, confirmed, never raised by noise alone."""

from __future__ import annotations

import math
import random

import pytest

from testfleet.analysis.changepoints import change_points, find_steps


def noisy(levels: list[tuple[int, float]], seed: int, sigma: float = 0.05) -> list[float]:
    rng = random.Random(seed)
    return [level * math.exp(rng.gauss(0.0, sigma)) for n, level in levels for _ in range(n)]


def ids(n: int) -> tuple[list[str], list[str | None]]:
    return [f"r{i}" for i in range(n)], [f"c{i // 2}" for i in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_one_step_is_found_at_its_run(seed: int) -> None:
    seconds = noisy([(15, 0.3), (15, 0.9)], seed)
    run_ids, commits = ids(30)
    (step,) = find_steps("t", run_ids, commits, seconds)
    assert (step.since_run, step.since_commit) == ("r15", "c7")
    assert step.ratio == pytest.approx(3.0, rel=0.1) and step.p_value < 1e-4


def test_two_steps_and_a_recovery() -> None:
    x = [math.log(s) for s in noisy([(10, 1.0), (10, 2.0), (10, 1.0)], seed=3)]
    assert change_points(x) == [10, 20]


@pytest.mark.parametrize("seed", range(20))
def test_noise_alone_never_alerts(seed: int) -> None:
    run_ids, commits = ids(60)
    assert find_steps("t", run_ids, commits, noisy([(60, 0.5)], seed, sigma=0.15)) == []


def test_microsecond_and_small_steps_are_below_the_thresholds() -> None:
    run_ids, commits = ids(30)
    tiny = noisy([(15, 2e-6), (15, 8e-6)], seed=1)  # 4x, but microseconds
    assert find_steps("t", run_ids, commits, tiny) == []
    small = noisy([(15, 1.0), (15, 1.1)], seed=1, sigma=0.01)  # real, but only 10%
    assert find_steps("t", run_ids, commits, small) == []
    assert find_steps("t", run_ids, commits, small, min_ratio=1.05)[0].since_run == "r15"


def test_a_short_series_is_not_judged() -> None:
    run_ids, commits = ids(7)
    assert find_steps("t", run_ids, commits, [1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0]) == []


@pytest.mark.parametrize("seed", range(10))
def test_occasional_spikes_and_a_bimodal_test_never_alert(seed: int) -> None:
    rng = random.Random(seed)
    run_ids, commits = ids(50)
    spiky = [0.5 * (4.0 if rng.random() < 0.08 else 1.0) * math.exp(rng.gauss(0, 0.05)) for _ in range(50)]
    assert find_steps("t", run_ids, commits, spiky) == []
    bimodal = [rng.choice([0.3, 0.9]) * math.exp(rng.gauss(0, 0.05)) for _ in range(50)]  # cache warm or cold
    assert find_steps("t", run_ids, commits, bimodal) == []
