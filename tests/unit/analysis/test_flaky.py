"""find_flaky(): which tests are flaky over a sequence of stored runs, and why."""

from __future__ import annotations

from testfleet.analysis.flaky import find_flaky
from testfleet.model import RunInfo
from testfleet.model import TestResult as Result


def history(*columns: tuple[str, str | None, dict[str, str]]) -> tuple[list[RunInfo], dict[str, list[Result]]]:
    """One (run id, git commit, {nodeid: outcome}) per run, oldest first."""
    runs, results = [], {}
    for i, (run_id, commit, outcomes) in enumerate(columns):
        runs.append(RunInfo(run_id=run_id, start=1000.0 + i, git_commit=commit))
        results[run_id] = [Result(run_id, nodeid, outcome, message=f"{nodeid} {outcome} in {run_id}")
                           for nodeid, outcome in outcomes.items()]
    return runs, results


def test_two_flips_make_a_test_flaky_and_one_flip_is_a_fix() -> None:
    runs, results = history(
        ("r1", None, {"wobbly": "passed", "fixed": "failed", "steady": "passed", "broke": "passed"}),
        ("r2", None, {"wobbly": "failed", "fixed": "passed", "steady": "passed", "broke": "error"}),
        ("r3", None, {"wobbly": "passed", "fixed": "passed", "steady": "passed", "broke": "error"}),
    )
    flaky = find_flaky(list(reversed(runs)), results)  # order of the runs given does not matter
    assert [f.nodeid for f in flaky] == ["wobbly"]
    f = flaky[0]
    assert (f.verdicts, f.passes, f.failures, f.flips, f.same_commit_flips, f.retried) == (3, 2, 1, 2, 0, 0)
    assert f.last_outcome == "passed" and f.last_failure == "wobbly failed in r2"


def test_one_flip_on_the_same_commit_is_enough() -> None:
    runs, results = history(("r1", "abc", {"t": "passed", "u": "passed"}),
                            ("r2", "abc", {"t": "crashed", "u": "passed"}),
                            ("r3", "def", {"t": "crashed", "u": "failed"}))
    flaky = find_flaky(runs, results)
    assert [(f.nodeid, f.flips, f.same_commit_flips) for f in flaky] == [("t", 1, 1)]  # u changed with the code


def test_skips_and_not_run_are_not_verdicts() -> None:
    runs, results = history(("r1", None, {"t": "passed"}), ("r2", None, {"t": "skipped"}),
                            ("r3", None, {"t": "not_run"}), ("r4", None, {"t": "passed"}))
    assert find_flaky(runs, results) == []


def test_a_retried_flake_counts_even_in_one_run() -> None:
    runs = [RunInfo(run_id="r1", start=1.0)]
    results = {"r1": [Result("r1", "t", "failed", attempt=1, final=False),
                      Result("r1", "t", "passed", attempt=2, flaky=True),
                      Result("r1", "u", "passed")]}
    flaky = find_flaky(runs, results)
    assert [(f.nodeid, f.retried, f.flips) for f in flaky] == [("t", 1, 0)]


def test_most_flaky_first() -> None:
    runs, results = history(
        ("r1", "c", {"often": "passed", "twice": "passed"}),
        ("r2", "c", {"often": "failed", "twice": "failed"}),
        ("r3", "d", {"often": "passed", "twice": "passed"}),
        ("r4", "d", {"often": "failed", "twice": "passed"}),
    )
    flaky = find_flaky(runs, results)
    assert [f.nodeid for f in flaky] == ["often", "twice"]
    assert flaky[0].score > flaky[1].score
