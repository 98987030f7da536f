"""The controller's one verb for outcomes (controller/verdicts.py ``_settle``): a test's outcome
is accepted at most once, retries go back to the queue, a test a worker holds cannot be given
a verdict, and the end-of-run sweep settles whatever is left exactly once.

The controller is built through its constructor, with fakes for what settling touches: the
run state (attempts, final results), pytest's hooks and the scheduler."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from testfleet.config import Settings
from testfleet.controller import Controller, Worker
from testfleet.ledger import FINAL, PENDING, InvariantBroken, Ledger
from testfleet.model import Outcome, TestResult


class Hooks:
    """pytest's hook relay, recording what reaches it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.calls.append(("logstart", nodeid))

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.calls.append(("logreport", report.when))

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.calls.append(("logfinish", nodeid))


class State:
    """The run state's part in settling: attempts, final results, retries."""

    def __init__(self, retries: int = 0) -> None:
        self.run_id = "r"
        self.locations: dict[int, Any] = {}
        self.final: dict[int, str] = {}
        self.attempts: dict[int, int] = {}
        self.retries = retries
        self.progress = SimpleNamespace(finished=lambda wid, outcome: None)

    def record_attempt(self, idx: int, result: TestResult) -> bool:
        self.attempts[idx] = self.attempts.get(idx, 0) + 1
        retry = result.outcome == Outcome.FAILED.value and self.attempts[idx] <= self.retries
        if not retry:
            self.final[idx] = result.outcome
        return retry

    def not_run(self, idx: int, reason: str = "the run stopped before this test started") -> None:
        self.final[idx] = f"not_run: {reason}"

    def is_final(self, idx: int) -> bool:
        return idx in self.final


class Scheduler:
    def __init__(self) -> None:
        self.requeued: list[tuple[list[int], str | None]] = []
        self.queued: list[int] = []

    def finished(self, idx: int, outcome: str) -> list[tuple[int, str]]:
        return []  # nothing depends on anything here

    def requeue(self, items: list[int], avoid: str | None = None) -> None:
        self.requeued.append((items, avoid))

    def drain(self) -> list[int]:
        out, self.queued = self.queued, []
        return out


def controller(n: int = 3, retries: int = 0) -> tuple[Controller, Hooks, State, Scheduler]:
    hooks, state, scheduler = Hooks(), State(retries), Scheduler()
    c = Controller(SimpleNamespace(hook=hooks), Settings(), state)  # type: ignore[arg-type]
    c.items = [{"nodeid": f"t.py::test_{i}"} for i in range(n)]
    c.ledger = Ledger(n)  # made for the collection, as _emit_collection does
    c.scheduler = scheduler  # type: ignore[assignment]
    return c, hooks, state, scheduler


def result(idx: int, outcome: Outcome) -> TestResult:
    return TestResult(run_id="r", nodeid=f"t.py::test_{idx}", outcome=outcome.value)


def ended_on(c: Controller, idx: int, wid: str = "w0") -> None:
    """``idx`` ran on ``wid`` and its result arrived (as the loop moves it)."""
    c.ledger.assign(idx, wid)
    c.ledger.start(idx, wid)
    assert c.ledger.end(idx, wid)


REPORTS = [SimpleNamespace(when=when) for when in ("setup", "call", "teardown")]


def test_a_final_outcome_is_accepted_once_and_reaches_pytest_once() -> None:
    c, hooks, state, _ = controller()
    w = Worker(id="w0", slot=0, gen=0, env={})
    ended_on(c, 0)
    c._settle(0, result(0, Outcome.PASSED), REPORTS, w)  # type: ignore[arg-type]
    assert c.ledger.state[0] == FINAL and state.final == {0: "passed"}
    assert hooks.calls == [
        ("logstart", "t.py::test_0"),
        ("logreport", "setup"),
        ("logreport", "call"),
        ("logreport", "teardown"),
        ("logfinish", "t.py::test_0"),
    ]
    with pytest.raises(InvariantBroken, match="outcome failed for test 0, which is final"):
        c._settle(0, result(0, Outcome.FAILED), REPORTS, w)  # type: ignore[arg-type]
    with pytest.raises(InvariantBroken, match="outcome not_run for test 0, which is final"):
        c._settle(0, None, why="late")
    assert len(hooks.calls) == 5 and state.final == {0: "passed"}


def test_a_retry_goes_back_to_the_queue_unreported_and_elsewhere() -> None:
    c, hooks, state, scheduler = controller(retries=1)
    w = Worker(id="w1", slot=1, gen=0, env={})
    ended_on(c, 1, "w1")
    c._settle(1, result(1, Outcome.FAILED), REPORTS, w)  # type: ignore[arg-type]
    assert c.ledger.state[1] == PENDING and scheduler.requeued == [([1], "w1")]
    assert hooks.calls == [] and not state.is_final(1)
    ended_on(c, 1, "w0")  # the second attempt is final
    c._settle(1, result(1, Outcome.FAILED), REPORTS, w)  # type: ignore[arg-type]
    assert c.ledger.state[1] == FINAL and state.final == {1: "failed"} and len(hooks.calls) == 5


def test_no_verdict_for_a_test_a_worker_holds() -> None:
    c, hooks, state, _ = controller()
    c.ledger.assign(0, "w0")  # handed out
    c.ledger.assign(1, "w0")
    c.ledger.start(1, "w0")  # running
    for idx in (0, 1):
        with pytest.raises(InvariantBroken, match=f"test {idx}, which is (assigned|running)"):
            c._settle(idx, None)
        with pytest.raises(InvariantBroken):
            c._settle_controller(idx, Outcome.SKIPPED.value, "skipped by the controller", None)
    assert state.final == {} and hooks.calls == []


def test_set_aside_ends_a_pending_test_not_run_without_a_pytest_report() -> None:
    c, hooks, state, _ = controller()
    c._set_aside(2, "did not fit in the --deadline of 1s")
    assert c.ledger.state[2] == FINAL and state.final == {2: "not_run: did not fit in the --deadline of 1s"}
    assert hooks.calls == []


def test_the_sweep_gives_every_test_left_exactly_one_outcome() -> None:
    c, _, state, scheduler = controller(n=4)
    ended_on(c, 0)
    c._settle(0, result(0, Outcome.PASSED), REPORTS, None)  # type: ignore[arg-type]
    c.ledger.assign(1, "w0")  # its worker is gone, the ledger still says assigned
    ended_on(c, 2)  # an attempt ended, no verdict yet
    scheduler.queued = [3]  # still queued
    c._sweep()
    assert c.ledger.state == [FINAL] * 4
    assert state.final == {
        0: "passed",
        1: "not_run: the run stopped before this test started",
        2: "not_run: the run stopped before this test started",
        3: "not_run: the run stopped before this test started",
    }
    with pytest.raises(InvariantBroken, match="abandon"):
        c._settle(0, None, sweep=True)  # the sweep too settles a test once


class Cycle:
    """Garbage only the cyclic GC can free: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


def test_a_gc_pass_runs_when_due_or_after_one_found_cycles_and_what_is_left_is_frozen() -> None:
    import gc
    import time
    import weakref

    from testfleet.controller.verdicts import GC_SECONDS

    ctl, _hooks, _state, _sched = controller()
    was_enabled = gc.isenabled()
    gc.disable()  # as while the loop runs
    frozen = gc.get_freeze_count()
    try:
        ctl._settled_since_freeze, ctl._collected_at = 7, time.monotonic()
        early = weakref.ref(Cycle())
        ctl._collect_young()  # not due: no pass, the garbage is frozen with the rest
        assert early() is not None and gc.get_freeze_count() > frozen
        assert ctl._settled_since_freeze == 0 and not ctl._cycles_found
        ctl._collected_at -= GC_SECONDS
        due = weakref.ref(Cycle())
        ctl._collect_young()  # due: one pass first, which frees it
        assert due() is None and ctl._cycles_found
        after = weakref.ref(Cycle())
        ctl._collect_young()  # not due by time, but the last pass found cycles: another
        assert after() is None and ctl._cycles_found
        ctl._collect_young()  # nothing to find: back to freezing without a pass
        assert not ctl._cycles_found
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
