"""find_flaky(): flaky, broken or healthy, with a posterior probability, over a window of runs."""

from __future__ import annotations

import pytest

from testfleet.analysis.flaky import credible_interval, find_flaky, infrastructure_runs
from testfleet.model import RunInfo
from testfleet.model import TestResult as Result
from testfleet.store import MemoryStore
from testfleet.store.history import RunStats, TestSeries


def window(*columns: tuple[str | None, dict[str, str]]) -> tuple[list[RunStats], list[TestSeries]]:
    """One (commit, {nodeid: outcome}) per run, oldest first, through the in-memory store.
    The outcome ``retried`` is a pass after a failed attempt."""
    store = MemoryStore()
    for i, (commit, outcomes) in enumerate(columns):
        rid = f"r{i:02d}"
        store.start_run(RunInfo(run_id=rid, start=1000.0 + i, git_commit=commit))
        for nodeid, outcome in outcomes.items():
            if outcome == "retried":
                store.add_results(
                    [
                        Result(rid, nodeid, "failed", attempt=1, final=False),
                        Result(rid, nodeid, "passed", attempt=2, flaky=True),
                    ]
                )
            else:
                store.add_results([Result(rid, nodeid, outcome, message=f"{outcome} in {rid}")])
        store.finish_run(rid, "finished", 1000.5 + i, 0, {})
    runs = store.run_stats(limit=100)
    return runs, store.test_series([r.run_id for r in runs])


def statuses(runs: list[RunStats], series: list[TestSeries]) -> dict[str, str]:
    return {f.nodeid: f.status for f in find_flaky(runs, series, include_healthy=True)}


def test_two_flips_make_a_test_flaky_and_one_flip_is_a_fix() -> None:
    runs, series = window(
        (None, {"wobbly": "passed", "fixed": "failed", "steady": "passed"}),
        (None, {"wobbly": "failed", "fixed": "failed", "steady": "passed"}),
        (None, {"wobbly": "passed", "fixed": "passed", "steady": "passed"}),
        (None, {"wobbly": "passed", "fixed": "passed", "steady": "passed"}),
    )
    assert statuses(runs, series) == {"wobbly": "flaky", "fixed": "healthy", "steady": "healthy"}
    wobbly = find_flaky(runs, series)[0]
    assert (wobbly.runs, wobbly.failures, wobbly.flips, wobbly.same_commit) == (4, 1, 2, 0)
    assert wobbly.probability == pytest.approx((0.5 + 1) / (1 + 4))  # Jeffreys posterior mean


def test_one_flip_on_the_same_commit_is_enough_a_change_of_commit_is_not() -> None:
    runs, series = window(
        ("abc", {"t": "passed", "u": "passed", "v": "passed"}),
        ("abc", {"t": "crashed", "u": "passed", "v": "passed"}),
        ("def", {"t": "passed", "u": "failed", "v": "passed"}),
        ("ghi", {"t": "passed", "u": "passed", "v": "passed"}),
    )
    found = {f.nodeid: f for f in find_flaky(runs, series)}
    assert set(found) == {"t", "u"}  # u flipped twice (fail between passes): flaky too
    assert found["t"].same_commit == 1 and found["u"].same_commit == 0


def test_a_retried_pass_is_a_failure_and_evidence_even_in_one_run() -> None:
    runs, series = window((None, {"t": "retried", "u": "passed"}))
    (t,) = find_flaky(runs, series)
    assert (t.nodeid, t.status, t.retried, t.failures, t.runs, t.flips) == ("t", "flaky", 1, 1, 1, 0)


def test_failing_every_run_since_some_point_is_broken_not_flaky() -> None:
    before = [(f"c{i}", {"b": "passed", "ok": "passed", "x": "passed", "y": "passed"}) for i in range(10)]
    after = [(f"d{i}", {"b": "failed", "ok": "passed", "x": "passed", "y": "passed"}) for i in range(3)]
    runs, series = window(*before, *after)
    (b,) = find_flaky(runs, series)
    assert (b.nodeid, b.status, b.broken_since, b.runs, b.failures) == ("b", "broken", "r10", 10, 0)
    assert 0.0 <= b.interval[0] <= b.probability <= b.interval[1] <= 1.0
    # two failures at the end are not a streak yet: the test looks like it broke (one flip)
    runs, series = window(*before, *after[:2])
    assert statuses(runs, series)["b"] == "healthy"


def test_a_streak_that_a_flaky_rate_explains_is_not_broken() -> None:
    pattern = ["passed", "failed"] * 5 + ["failed"] * 3  # fails half the time, then 3 in a row
    runs, series = window(*[(None, {"f": o, "a": "passed", "b": "passed", "c": "passed"}) for o in pattern])
    (f,) = find_flaky(runs, series)
    assert f.status == "flaky" and f.broken_since is None and f.failures == 8


def test_infrastructure_runs_are_left_out() -> None:
    ok = {n: "passed" for n in "abcde"}
    runs, series = window((None, ok), (None, ok), (None, {n: "error" for n in "abcde"}), (None, ok))
    assert infrastructure_runs(runs) == {2}
    assert find_flaky(runs, series) == []


def test_skips_and_not_run_are_not_verdicts_and_most_probable_comes_first() -> None:
    runs, series = window(
        (None, {"often": "passed", "rare": "passed", "skippy": "passed"}),
        (None, {"often": "failed", "rare": "failed", "skippy": "skipped"}),
        (None, {"often": "passed", "rare": "passed", "skippy": "not_run"}),
        (None, {"often": "failed", "rare": "passed", "skippy": "passed"}),
        (None, {"often": "passed", "rare": "passed", "skippy": "passed"}),
    )
    found = find_flaky(runs, series)
    assert [f.nodeid for f in found] == ["often", "rare"]
    assert found[0].probability > found[1].probability


def test_credible_interval_matches_the_beta_quantiles() -> None:
    lo, hi = credible_interval(3, 30)  # Beta(3.5, 27.5): scipy.stats.beta.ppf([.025, .975], 3.5, 27.5)
    assert lo == pytest.approx(0.028981, abs=1e-5) and hi == pytest.approx(0.243402, abs=1e-5)
