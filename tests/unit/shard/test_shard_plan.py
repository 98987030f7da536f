"""Sharding plans: disjoint and complete, balanced by duration (LPT), deterministic, fixture
scopes kept together only where it costs nothing, unknown tests estimated."""

from __future__ import annotations

import random

import pytest

from testfleet.errors import UsageError
from testfleet.shard import Shard, estimate, lpt, parse_shard, plan, select, units_of


def skewed(n: int = 200, seed: int = 7) -> dict[str, float]:
    """A heavy-tailed suite: most tests short, a few long (Pareto-like)."""
    rng = random.Random(seed)
    return {f"tests/test_m{i % 9}.py::test_{i}": round(0.01 * rng.paretovariate(1.3), 4) for i in range(n)}


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "1-4", "a/b", "", "2/"])
def test_bad_shard_is_a_usage_error_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError, match=r"--shard: .* is not I/K with 1 <= I <= K"):
        parse_shard(text)


def test_shard_parses() -> None:
    assert parse_shard(" 2/4 ") == Shard(2, 4)
    assert str(Shard(3, 8)) == "3/8"


def test_shards_are_disjoint_complete_and_balanced_on_a_skewed_suite() -> None:
    durations = skewed()
    nodeids = list(durations)
    chosen = [select(nodeids, Shard(i, 4), durations) for i in range(1, 5)]
    for j in range(len(nodeids)):
        assert sum(c[j] for c in chosen) == 1  # each test in exactly one shard
    loads = [sum(durations[n] for n, c in zip(nodeids, sel, strict=True) if c) for sel in chosen]
    mean = sum(loads) / 4
    assert max(loads) <= 1.10 * mean, loads
    # LPT's guarantee: no worse than the mean plus the longest test.
    assert max(loads) <= mean + max(durations.values())


def test_plan_is_deterministic_and_independent_of_the_shard_asked_for() -> None:
    durations = skewed(300, seed=1)
    seconds = estimate(list(durations), durations)
    assert plan(seconds, 4) == plan(list(seconds), 4)
    # Ties (equal durations) go by collection order, then shard number.
    assert plan([1.0] * 8, 4) == [0, 1, 2, 3, 0, 1, 2, 3]


def test_without_history_shards_have_equal_counts() -> None:
    nodeids = [f"t.py::test_{i}" for i in range(10)]
    counts = [sum(select(nodeids, Shard(i, 3), {})) for i in (1, 2, 3)]
    assert sorted(counts) == [3, 3, 4]


def test_unknown_tests_are_estimated_from_siblings_then_module_then_all() -> None:
    history = {"a.py::test_p[1]": 4.0, "a.py::test_p[2]": 6.0, "a.py::test_q": 1.0, "b.py::test_r": 2.0}
    got = estimate(["a.py::test_p[3]", "a.py::test_new", "c.py::test_x", "b.py::test_r"], history)
    assert got == [5.0, 4.0, 3.0, 2.0]  # siblings' median; module a's median; median of all; own


def test_scope_groups_stay_together_when_that_costs_nothing() -> None:
    # Twelve tests of 1 s; the module-scoped ones (three per module) fit whole into shards.
    seconds = [1.0] * 12
    keys = ["m1"] * 3 + ["m2"] * 3 + ["m3"] * 3 + ["m4"] * 3
    assignment = plan(seconds, 4, keys)
    for start in (0, 3, 6, 9):
        assert len({assignment[i] for i in range(start, start + 3)}) == 1
    assert sorted(assignment) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_scope_group_that_would_unbalance_the_shards_is_split() -> None:
    # One module holds 8 of 10 seconds: kept whole, one shard would take 8 s instead of 2.5.
    seconds = [1.0] * 8 + [1.0, 1.0]
    keys: list[str | None] = ["big"] * 8 + [None, None]
    assignment = plan(seconds, 4, keys)
    loads = [sum(s for s, a in zip(seconds, assignment, strict=True) if a == k) for k in range(4)]
    assert max(loads) == 3.0  # the ungrouped optimum for 10 x 1 s on 4 shards
    _, grouped_loads = lpt(units_of(keys), seconds, 4)
    assert max(grouped_loads) == 8.0  # what keeping it together would have cost


def test_units_are_runs_of_the_same_key() -> None:
    assert units_of(["a", "a", None, None, "b", "a"]) == [[0, 1], [2], [3], [4], [5]]
