"""The progress ETA is weighted by estimated durations (issue 19: "ETA 2724s" for a 27.6 s run,
because the longest tests run first and a count-based ETA extrapolates from them)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from testfleet.report.progress import Progress


def progress(total: int, workers: int, estimates: dict[str, float], nodeids: list[str]) -> Progress:
    p = Progress(SimpleNamespace(stash={}))  # type: ignore[arg-type]
    p.begin(total, workers, estimates, nodeids)
    p.t0 = 1000.0
    return p


def finish(p: Progress, worker: str, nodeid: str, start: float) -> None:
    p.current[worker], p.since[worker] = nodeid, start
    p.finished(worker, "passed")


def test_longest_first_does_not_inflate_the_eta() -> None:
    nodeids = ["slow", *(f"fast{i}" for i in range(9))]
    p = progress(10, 1, {"slow": 10.0, **{f"fast{i}": 1.0 for i in range(9)}}, nodeids)
    finish(p, "w0", "slow", 1000.0)
    # 10 s done of 19 s estimated, at the estimated pace: 9 s left (counting tests: 90 s)
    assert p.eta(now=1010.0) == pytest.approx(9.0)
    p.expected_total = 0.0  # without history: tests are counted
    assert p.eta(now=1010.0) == pytest.approx(90.0)


def test_the_pace_of_the_run_scales_the_estimates() -> None:
    p = progress(4, 2, {n: 2.0 for n in "abcd"}, list("abcd"))
    finish(p, "w0", "a", 1000.0)
    finish(p, "w1", "b", 1000.0)
    # 4 estimated seconds took 2 s of wall time (2 workers): the 4 left take 2 s more
    assert p.eta(now=1002.0) == pytest.approx(2.0)


def test_running_tests_count_up_to_their_estimate_and_unknown_tests_count_as_the_median() -> None:
    p = progress(3, 1, {"a": 4.0, "b": 2.0}, ["a", "b", "new"])
    assert p.expected_total == pytest.approx(4.0 + 2.0 + 3.0)  # median of 4 and 2
    assert p.eta(now=1000.0) == pytest.approx(9.0)  # nothing done yet: the estimate itself
    p.started("w0", "a")
    p.since["w0"] = 1000.0
    assert p.eta(now=1002.0) == pytest.approx(7.0 * 2.0 / 2.0)
    assert p.eta(now=1010.0) == pytest.approx(5.0 * 10.0 / 4.0)  # capped at a's estimate


def test_line_says_n_of_m_done() -> None:
    p: Any = progress(3, 1, {}, [])
    p.finished(None, "failed")
    assert p.line().startswith("testfleet: 1/3 done (1 failed), ")
