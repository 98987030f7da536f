"""The controller: the run loop of a fleet run, inside the pytest process the user started.

It owns the verdicts. Workers can die, hang or lie; every collected test still ends with
exactly one final outcome. The loop is single-threaded around a selector: messages from the
collector and the workers, worker exits, timeouts and Ctrl-C are all handled here, and every
final report is re-emitted through pytest's own hooks (terminal, junitxml, other plugins).
The layers it is built on are listed in ``controller/base.py``.
"""

from __future__ import annotations

import gc
import os
import resource
import selectors
import signal
import time
from typing import Any

import pytest

from testfleet import events
from testfleet.controller.lifecycle import Lifecycle
from testfleet.controller.verdicts import GC_SECONDS
from testfleet.controller.workers import DEAD, READY, Worker, nap_seconds
from testfleet.errors import UsageError
from testfleet.messages import Channel, ChannelClosed
from testfleet.model import Outcome
from testfleet.scheduler.constraints import widest


class Controller(Lifecycle):
    """One fleet run: start-up (collector, collection, workers, scheduler), the loop, and the
    end (signals restored, workers stopped, the executor shut down)."""

    def run(self, session: pytest.Session) -> None:
        from testfleet.executor import make_executor

        self.session = session
        self.executor = make_executor(self.config, self.settings)
        for listener in self.executor.listeners:
            self.sel.register(listener, selectors.EVENT_READ, ("listen", None))
        old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        old_term = signal.signal(signal.SIGTERM, self._on_sigterm)
        if self.state.bus.wants(events.RunStarted):
            self.state.bus.publish(
                events.RunStarted(
                    self.state.run_id,
                    self.state.started,
                    self.settings.workers,
                    self.settings.backend,
                    tuple(str(a) for a in self.config.invocation_params.args),
                    str(self.config.rootpath),
                )
            )
        # No automatic cyclic GC from here to the end of the loop: what start-up makes (the
        # collection, the scheduler) lives as long as the run, and the loop collects at its
        # own pace (verdicts.FREEZE_EVERY, GC_SECONDS).
        gc_auto = gc.isenabled()
        gc.disable()
        try:
            self.executor.start_collector()
            # What the executor settled that the settings left open (Ray: one worker per CPU
            # of the cluster, spawned workers) is in its own copy; the run goes by that.
            self.settings = self.state.settings = self.executor.settings
            self.state.phase("collector_started")
            # Ray: workers that collect for themselves start now, alongside the collector.
            for slot in range(self.executor.early_workers()):
                self._start_worker(slot)
            collected = self._wait_for_collection()
            if (
                collected.get("fork_hazard")
                and self.settings.start == "fork"
                and self.executor.backend == "local"
            ):
                raise UsageError(collected["fork_hazard"])  # hardware: the collector initialised CUDA
            self.state.phase("collected")
            self._emit_collection(session, collected)
            if session.testsfailed and not self.config.option.continue_on_collection_errors:
                n = session.testsfailed
                raise session.Interrupted(f"{n} error{'s' if n != 1 else ''} during collection")
            if not self.items:
                return
            n = min(self.settings.workers, max(len(self.items), widest(self.items)))  # mpi=N takes N slots
            placed = self.executor.placed  # Ray: size and place the slots; their caps are the fleet
            if not placed:
                # Fork the workers first: they start while the scheduler is built.
                for slot in range(n):
                    self._start_worker(slot)
            else:
                if not self.executor.plan(self.state.specs()):
                    self._retire_early_workers()  # the tests need other resources than they have
                self.state.caps_provider = self.executor.slot_caps
            if self.groups is None:
                self.scheduler = self.state.make_scheduler(self.items, len(collected["deselected"]))
            else:  # --collectors K: one scheduler per group, each with its slots
                fleets = [0] * self.settings.collectors
                for slot in range(self.settings.workers):
                    fleets[self._slot_group(slot)] += 1
                self.scheduler = self.state.make_scheduler(
                    self.items, len(collected["deselected"]), (self.groups, fleets)
                )
            gc.freeze()  # start-up's objects: no later GC pass walks them
            self.state.phase("scheduled")
            for index, outcome, reason in self.state.presettled():
                self._settle_controller(index, outcome, reason, None)
            from testfleet.report.progress import make_progress

            # Chosen now: the terminal reporter did not exist yet when the run state was made.
            self.state.progress = make_progress(self.config)
            self.state.progress.begin(len(self.items), self.settings.workers)
            if placed:
                for slot in range(min(n, max(1, self.scheduler.pending()))):
                    if slot not in self.slots or self.workers[self.slots[slot]].status is DEAD:
                        self._start_worker(slot)
                for chan, msg in self.early_hellos:
                    self._on_hello(chan, msg)
                self.early_hellos.clear()
            self.hooks.install()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            self._collected_at = time.monotonic()
            try:
                self._loop()
            finally:
                self.hooks.uninstall()
                self.state.loop_stats = {
                    "cpu_seconds": round(time.process_time() - cpu0, 4),
                    "wall_seconds": round(time.perf_counter() - wall0, 4),
                    "passes_batched": self.passes.batched,
                    "rounds": self._rounds,
                }
            if self.groups is not None:
                self._save_file_times(len(collected["deselected"]))
            gc.freeze()  # what the run made stays out of the end-of-session GC passes
            self.state.phase("loop_end")
        finally:
            if gc_auto:
                gc.enable()
            signal.signal(signal.SIGINT, old_handler)
            signal.signal(signal.SIGTERM, old_term)
            self._shutdown()
        if self.breaker_message:
            self.state.internal_error = self.breaker_message
        if self.stop_requested or self.kill_requested:
            raise session.Interrupted(
                f"testfleet: interrupted, {self.state.count(Outcome.NOT_RUN)} tests not run"
            )
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        not_run = self.state.count(Outcome.NOT_RUN)
        if not_run:  # past a --deadline, or no worker left: the run did not finish (exit 2)
            raise session.Interrupted(f"testfleet: {not_run} test{'s' if not_run != 1 else ''} not run")

    def _loop(self) -> None:
        assert self.scheduler is not None
        while True:
            # A plugin (un)registered since the last round is seen now; the clean passes of
            # the last round reach pytest first.
            self.hooks.refresh()
            self.passes.refresh()
            nap = self._nap()
            if nap:
                time.sleep(nap)
            for kind, ref, msg in self._poll(0.05):
                if kind == "msg":
                    if isinstance(ref, Worker):
                        if ref.status is not DEAD:
                            self._on_worker_msg(ref, msg)
                    elif ref == "collector":
                        self._on_collector_msg(msg)
                    elif msg["t"] == "hello":
                        assert isinstance(ref, Channel)
                        self._on_hello(ref, msg)
                elif kind == "eof" and isinstance(ref, Worker):
                    ref.eof_at = ref.eof_at or time.monotonic()
                elif kind == "eof" and ref == "collector":
                    group = self._group_of_chan(msg)
                    self._collector_lost(self._collector_status(group), group)
            self.passes.flush()
            self._check_collector()
            self._check_timeouts()
            self._check_eof()
            self._handle_exits()  # after every message of the round (see self.exits)
            self._feed_round()
            self.state.journal_flush()  # what settled this round survives a kill of this process
            if self.kill_requested:
                now = time.monotonic()
                for w in self._live():
                    if w.killed_at is None:
                        w.killed_at = now
                    self.executor.kill(w.id)
            if self.stop_requested or self.session.shouldfail or self.session.shouldstop:
                for w in self._live():
                    self._halt(w)
            self.state.progress.tick()
            self._check_stall()
            self._rounds += 1
            if time.monotonic() - self._collected_at >= GC_SECONDS:
                self._collect_young()  # slow tests: few settle, but the rounds make garbage too
            live = self._live()
            if not live:
                for group in list(self.groups_gone):  # --collectors K: groups left without a collector
                    self._set_aside_group(group)
                if self._work_remains():
                    startable = [
                        slot
                        for slot in range(self.settings.workers)  # Ray: room left?
                        if self._can_start_workers(slot) and self.executor.can_start(slot)
                    ]
                    for slot in startable:
                        self._start_worker(slot)
                    if startable:
                        continue
                    if self.collector_gone is not None and self.settings.start == "fork":
                        for idx in self.scheduler.drain():
                            if not self.state.is_final(idx):
                                self._set_aside(
                                    idx,
                                    f"no worker was left to run it: {self.collector_gone}, "
                                    "so no worker could be started any more",
                                )
                    else:
                        self._settle_stranded("no worker can be started any more")
                break
        self.passes.flush()
        self._sweep()  # every test ends with exactly one outcome
        self.state.journal_flush()

    def _save_file_times(self, deselected: int) -> None:
        """--collectors K: the next run splits the files by the time their tests took in this
        one (testfleet.split_history), when this one ran its whole selection with a store."""
        from testfleet.split_history import file_times, update_weights, weights_path

        state, settings = self.state, self.settings
        partial = (
            deselected or settings.shard or settings.resume or any("::" in str(a) for a in self.config.args)
        )
        if partial or self._stopping() or state.store is None or state.store_error:
            return
        path = weights_path(settings.db, self.config.invocation_params.dir, self.config.rootpath)
        if path is None:
            return
        try:
            update_weights(path, file_times((r.nodeid, r.duration) for r in state.final.values()))
        except OSError:
            pass  # the next run splits by size

    def _nap(self) -> float:
        if self.stop_requested or self.kill_requested:
            return 0.0
        now = time.monotonic()
        for w in self.workers.values():
            if w.status is READY:
                w.observe_pace(now)
        return nap_seconds(self.workers.values())

    def _check_stall(self) -> None:
        """Every worker is idle and ready, work remains, and none of it can be handed out:
        the rest can never run (e.g. a group held by a worker that died). Settle it."""
        assert self.scheduler is not None
        live = self._live()
        if not live or self.scheduler.pending() == 0:
            return
        if any(w.status is not READY or w.outstanding for w in live):
            return
        for w in live:
            self._feed(w)
        if any(w.outstanding for w in live):
            return
        avoid = getattr(self.scheduler, "avoid", None)
        if avoid:  # "retry elsewhere" is a preference: with no other worker, retry here
            avoid.clear()
            for w in live:
                self._feed(w)
            if any(w.outstanding for w in live):
                return
        self._settle_stranded()
        for w in live:
            self._feed(w)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if not self.stop_requested:
            self.stop_requested = True
            self.state.progress.note(
                "testfleet: Ctrl-C: no new tests start; running tests finish. Ctrl-C again to kill the workers."
            )
        else:
            self._request_kill()

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # Terminated from outside: stop now, but still settle, store and report everything.
        self.stop_requested = True
        self._request_kill()

    def _request_kill(self) -> None:
        if not self.kill_requested:
            self.kill_requested_at = time.monotonic()
        self.kill_requested = True

    def _shutdown(self) -> None:
        executor = getattr(self, "executor", None)
        if executor is None:
            return
        for w in self._live():
            if w.chan is not None and w.status is READY:
                try:
                    w.chan.send({"t": "stop"})
                except ChannelClosed:
                    pass
        executor.shutdown()
        self.state.executor_timings = dict(executor.timings)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.state.controller_peak_rss_kb = usage.ru_maxrss
        self.state.controller_cpu_seconds = round(usage.ru_utime + usage.ru_stime, 3)
        self.state.progress.end()
        os.environ.pop("TESTFLEET_SPEC", None)
