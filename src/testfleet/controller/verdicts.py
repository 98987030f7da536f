"""Verdicts: how a test gets its outcome.

:meth:`Verdicts._settle` is the one verb that gives a test an outcome, and the one place
that checks it is accepted at most once (by the ledger's state). Everything else here only
builds what it settles:

- ``_settle_reports``: a worker's reports for a test (a missing report is a crash);
- ``_settle_controller``: a verdict the controller gives (crashed, timeout, skipped,
  unschedulable), as synthetic pytest reports;
- ``_settle_lost``: the test a worker was running when it died or was killed;
- ``_set_aside``: a test that will not run (and what waits for it is skipped);
- ``_settle_stranded``: work no worker will ever take;
- ``_sweep``: the end of the run, where every test still without an outcome ends not_run.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence

import pytest

from testfleet.controller.collection import Collection
from testfleet.controller.workers import Worker
from testfleet.diagnostics import read_tail
from testfleet.ledger import ENDED, NAMES, PENDING, InvariantBroken
from testfleet.model import Outcome, TestResult
from testfleet.outcomes import captured, message_of, outcome_of, synthetic_reports

# The controller keeps every report (pytest's terminal reporter holds them for the summary),
# so its heap grows with the run, and the cyclic GC's automatic passes walked the young part of
# it again and again: a sixth of the loop's CPU on a suite of tiny tests. While the loop runs
# the automatic GC is off (loop.py). Every this many settled tests what exists is frozen
# (gc.freeze): no later pass walks it again; every GC_SECONDS (at a freeze, or at the end of a
# loop round) one pass first frees the garbage cycles among it (see Verdicts._collect_young).
# The plugin unfreezes at the end of the run, after pytest's own end-of-session GC passes
# (plugin.pytest_configure).
FREEZE_EVERY = 2000
GC_SECONDS = 5.0


class Verdicts(Collection):
    """Gives tests their outcomes (see the module docstring)."""

    def _settle_reports(
        self, idx: int, w: Worker, reports: list[pytest.TestReport], clean: bool = False
    ) -> None:
        """A worker's result for ``idx`` (its reports, rebuilt; ``clean``: all of them plain)."""
        if (
            clean
            and len(reports) == 3
            and all(r.outcome == "passed" for r in reports)
            and (reports[0].when, reports[1].when, reports[2].when) == ("setup", "call", "teardown")
        ):
            # A clean pass (most of a suite): no message, no failure text, nothing captured.
            setup, call, teardown = reports
            result = TestResult(  # positional: run_id, nodeid, outcome, attempt, worker, start, durations
                self.state.run_id,
                self.items[idx]["nodeid"],
                "passed",
                1,
                w.id,
                w.started_wall,
                setup.duration,
                call.duration,
                teardown.duration,
            )
            self._settle(idx, result, reports, w, None, False, True)
            return
        outcome = outcome_of(reports)
        if outcome == Outcome.CRASHED:  # reports missing: treat as a crash of this test
            self._settle_controller(
                idx, Outcome.CRASHED.value, f"worker {w.id} sent no result for the test", w, reports
            )
            return
        result = self._result(idx, w, outcome.value, reports)
        self._settle(idx, result, reports, w, None, False, clean)

    def _result(
        self,
        idx: int,
        w: Worker | None,
        outcome: str,
        reports: list[pytest.TestReport],
        message: str | None = None,
        failure_text: str | None = None,
    ) -> TestResult:
        durations = {r.when: r.duration for r in reports}
        text = failure_text
        if text is None:
            failed = [r for r in reports if r.failed]
            text = "\n".join(r.longreprtext for r in failed) or None
        return TestResult(
            run_id=self.state.run_id,
            nodeid=self.items[idx]["nodeid"],
            outcome=outcome,
            worker=w.id if w else None,
            start=w.started_wall if w else time.time(),
            setup_duration=durations.get("setup", 0.0),
            call_duration=durations.get("call", 0.0),
            teardown_duration=durations.get("teardown", 0.0),
            message=message if message is not None else message_of(reports, Outcome(outcome)),
            failure_text=text,
            stdout=captured(reports, "stdout") or None,
            stderr=captured(reports, "stderr") or None,
        )

    def _settle_controller(
        self,
        idx: int,
        outcome: str,
        text: str,
        w: Worker | None,
        prior: list[pytest.TestReport] | None = None,
        sections: list[tuple[str, str]] | None = None,
        duration: float = 0.0,
    ) -> None:
        """A verdict of the controller's own (``text`` is its failure text), as pytest reports."""
        fail = not (outcome == Outcome.UNSCHEDULABLE.value and self.settings.allow_unschedulable)
        reports = synthetic_reports(
            self.items[idx]["nodeid"],
            self._location(idx),
            outcome,
            text,
            sections or [],
            duration,
            prior or [],
            fail=fail,
        )
        first = text.strip().splitlines()[0] if text.strip() else outcome
        result = self._result(idx, w, outcome, reports, message=first, failure_text=text)
        if outcome != Outcome.SKIPPED.value:
            result.call_duration = duration
        self._settle(idx, result, reports, w)

    def _settle(
        self,
        idx: int,
        result: TestResult | None,
        reports: Sequence[pytest.TestReport] = (),
        w: Worker | None = None,
        why: str | None = None,  # not keyword-only: CPython's fast call path skips those
        sweep: bool = False,
        clean: bool = False,  # the worker sent every report plain (see rebuild.py)
    ) -> None:
        """The one verb that gives a test an outcome, and the one place that accepts it at
        most once: from an attempt that ended (a worker's result, a crash, a timeout), or as
        a verdict on a test no worker holds (skipped, unschedulable, not run). Anything else
        (a test a worker holds, or final already) is a controller bug. Only the end-of-run
        sweep (``sweep``) settles a test wherever it is, once.

        ``result``: the attempt is recorded; a retry goes back to the queue; a final outcome
        reaches pytest's hooks, and what waits for the test may be skipped. None: the test
        ends ``not_run`` (``why``, or the run-stopped default), recorded only."""
        ledger = self.ledger
        if sweep:
            ledger.abandon(idx)  # raises if final already
            self.state.not_run(idx)
            return
        where = ledger.state[idx]
        if where not in (ENDED, PENDING):  # held by a worker, or final already: a controller bug
            outcome = result.outcome if result is not None else Outcome.NOT_RUN.value
            raise InvariantBroken(f"outcome {outcome} for test {idx}, which is {NAMES[where]}")
        if result is None:
            ledger.close(idx)
            if why is None:
                self.state.not_run(idx)
            else:
                self.state.not_run(idx, why)
            return
        ended = where == ENDED  # an attempt ended; else a verdict on a test no worker holds
        retry = self.state.record_attempt(idx, result) and ended
        if retry:
            ledger.retry(idx)
            assert self.scheduler is not None
            self.scheduler.requeue([idx], avoid=w.id if w else None)
            return
        if ended:
            ledger.finish(idx)
        else:
            ledger.close(idx)
        nodeid = self.items[idx]["nodeid"]
        location = self._location(idx)
        if not (
            clean
            and result.outcome == "passed"
            and not result.flaky
            and self.passes.add(nodeid, location, reports)
        ):
            self.passes.flush()  # what pytest sees keeps the order of the settling
            hooks = self.hooks
            hooks.logstart.node(nodeid, location)
            logreport = hooks.logreport.report
            for rep in reports:
                if result.flaky:
                    rep.testfleet_flaky = True  # type: ignore[attr-defined]
                logreport(rep)
            hooks.logfinish.node(nodeid, location)
        self.state.progress.finished(w.id if w else None, result.outcome)
        self._settled_since_freeze += 1
        if self._settled_since_freeze >= FREEZE_EVERY:
            self._collect_young()
        assert self.scheduler is not None
        for skip_idx, reason in self.scheduler.finished(idx, result.outcome):
            if not self.state.is_final(skip_idx):
                self._settle_controller(skip_idx, Outcome.SKIPPED.value, reason, None)

    def _collect_young(self) -> None:
        """Freeze what the loop made since the last freeze (see FREEZE_EVERY), after one
        cyclic-GC pass over it when GC_SECONDS have passed since the last pass, or when the
        last pass found garbage. The loop itself makes no reference cycles (a pass over
        100,000 trivial tests finds none), so most freezes skip the pass, whose walk over
        every object made since would cost more than all of the automatic GC saved."""
        self._settled_since_freeze = 0
        now = time.monotonic()
        if self._cycles_found or now - self._collected_at >= GC_SECONDS:
            self._collected_at = now
            self._cycles_found = gc.collect(0) > 0
        gc.freeze()

    def _set_aside(self, idx: int, reason: str) -> None:
        """A test that will not run: not_run now, and whatever waits for it is skipped."""
        assert self.scheduler is not None
        self._settle(idx, None, why=reason)
        for skip_idx, why in self.scheduler.finished(idx, Outcome.NOT_RUN.value):
            if not self.state.is_final(skip_idx):
                self._settle_controller(skip_idx, Outcome.SKIPPED.value, why, None)

    def _sweep(self) -> None:
        """The end of the run: what is still queued, then anything else without an outcome
        (a worker may have held it), ends not_run; every test ends with exactly one outcome."""
        assert self.scheduler is not None
        for idx in self.scheduler.drain():
            if not self.state.is_final(idx):
                self._settle(idx, None)
        for idx in range(len(self.items)):
            if not self.state.is_final(idx):
                self._settle(idx, None, sweep=True)

    def _settle_lost(self, w: Worker, idx: int, status: str) -> None:
        """``idx`` was running on ``w`` when it exited (``status``): timed out, killed by an
        interrupt, or crashed; the text tells what its capture files and logs hold."""
        out1 = read_tail(self.executor.worker_file(w.id, "fd1")) or ""
        out2 = read_tail(self.executor.worker_file(w.id, "fd2")) or ""
        log = read_tail(self.executor.worker_file(w.id, "log"), 8000) or ""
        crash = read_tail(self.executor.worker_file(w.id, "crash"), 16000) or ""
        # A test's reports arrive together, after it ends: all there is of this one is what
        # its worker's capture files and logs hold.
        sections = [
            (title, body)
            for title, body in (("Captured stdout call", out1), ("Captured stderr call", out2))
            if body
        ]
        elapsed = time.monotonic() - w.started_at
        if w.timed_out == idx:
            text = (
                f"Timeout: the test ran longer than {self.settings.timeout:g}s; testfleet stopped worker "
                f"{w.id} (pid {w.pid}).\n\nPython stacks of every thread of the worker at the timeout:\n"
                f"{w.timeout_stacks.strip() or '(no stacks could be read)'}"
            )
            for title, body in sections:
                text += f"\n\n{title} (so far):\n{body.rstrip()}"
            self._settle_controller(idx, Outcome.TIMEOUT.value, text, w, None, sections, elapsed)
            return
        if self.kill_requested:
            self._set_aside(idx, "killed when the run was interrupted (Ctrl-C twice, or SIGTERM)")
            return
        text = f"Crashed: worker {w.id} (pid {w.pid}) {status} while running this test."
        for title, body in sections:
            text += f"\n\n{title} (so far):\n{body.rstrip()}"
        if crash.strip():
            text += f"\n\nFatal error reported by the worker:\n{crash.strip()}"
        if log.strip():
            text += f"\n\nWorker output (outside capture):\n{log.strip()}"
        self._settle_controller(idx, Outcome.CRASHED.value, text, w, None, sections, elapsed)

    def _settle_stranded(self, why: str | None = None) -> None:
        """Work remains that no worker will ever take. A test whose requirements no worker
        left can meet (its node was lost) is unschedulable; any other is not run."""
        assert self.scheduler is not None
        lost = ", ".join(str(x.get("node") or x.get("worker")) for x in self.state.lost_workers)
        for idx in self.scheduler.drain():
            if self.state.is_final(idx):
                continue
            missing = self.scheduler.missing_everywhere(idx)
            if missing is None and why is None:
                self._set_aside(idx, "no worker could take it under its constraints")
                continue
            reason = why if why is not None else f"needs {missing}"
            self._settle_controller(
                idx,
                Outcome.UNSCHEDULABLE.value,
                f"no worker left can run it: {reason}" + (f" (workers lost with: {lost})" if lost else ""),
                None,
            )
