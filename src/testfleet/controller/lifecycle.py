"""Worker lifecycle: starting workers (and replacements), admitting them (``hello``),
retiring early workers a plan did not keep, their exits and what they held (requeued,
crashed, lost with a node), timeouts, workers whose exit status never comes, the circuit
breaker for workers that die before running anything, and the collector's health."""

from __future__ import annotations

import secrets
import selectors
import time
from typing import Any

from testfleet.controller.results import Results
from testfleet.controller.workers import DEAD, HALTED, READY, STARTING, STOPPING, Worker
from testfleet.diagnostics import read_tail
from testfleet.executor.local import collector_ended
from testfleet.hardware.forksafety import spawn_mismatch
from testfleet.ledger import ASSIGNED
from testfleet.messages import PROTOCOL_VERSION, Channel, ChannelClosed
from testfleet.model import WorkerSpec
from testfleet.scheduler.grouped import GROUP_CAP

# A worker that dies this many times in a row before finishing any test opens the breaker.
EARLY_DEATH_LIMIT = 5
EXIT_GRACE = 3.0
# A worker the controller killed whose exit status has not come after this long is looked
# up by its pid (its parent, the collector, may be stopped or gone).
KILL_GRACE = 2.0
HEALTH_EVERY = 0.25  # seconds between looks at the collector process


class Lifecycle(Results):
    """Starts, admits, times out and buries workers; watches the collector."""

    def _start_worker(self, slot: int, replacement: bool = True) -> None:
        """Start a worker in ``slot``: a replacement (next generation, ``w0.1``) if the slot
        had one, else the slot's first worker, or one started again in place of an early
        worker the plan did not keep (same id; its launch nonce tells the two apart)."""
        gen = 0
        if slot in self.slots:
            gen = self.workers[self.slots[slot]].gen + (1 if replacement else 0)
        wid = f"w{slot}" if gen == 0 else f"w{slot}.{gen}"
        env = self.state.worker_env(slot, wid)
        env["TESTFLEET_LAUNCH"] = secrets.token_hex(4)
        group = 0
        if self.groups is not None:  # --collectors K: forked by its group's collector
            group = self._slot_group(slot)
            env["TESTFLEET_COLLECTOR"] = str(group)
        w = Worker(
            id=wid,
            slot=slot,
            gen=gen,
            env=env,
            requested_at=time.perf_counter(),
            replacement=gen > 0 and replacement,
            group=group,
        )
        self.workers[wid] = w
        self.slots[slot] = wid
        self.executor.start_worker(wid, env)

    def _on_hello(self, chan: Channel, msg: dict[str, Any]) -> None:
        w = self.workers.get(msg["worker"])
        if (
            w is None
            or w.status is DEAD
            or msg.get("token") != self.executor.token
            or msg.get("launch", "") != w.env.get("TESTFLEET_LAUNCH", "")
        ):
            self._drop(chan)
            return
        if msg.get("version") != PROTOCOL_VERSION:
            self.breaker_message = (
                f"worker {w.id} speaks testfleet protocol {msg.get('version')}, this controller "
                f"{PROTOCOL_VERSION}: install the same testfleet version on every node"
            )
            self.stop_requested = True
            self._drop(chan)
            return
        if msg["hash"] != self.state.collection_hash:
            # hardware: its collection errors
            self.breaker_message = spawn_mismatch(w.id, msg.get("caps") or {})
            self.stop_requested = True
        w.chan, w.pid, w.caps = chan, msg["pid"], msg["caps"]
        if w.status is STARTING:
            w.status = READY
        w.ready_at = time.perf_counter()
        self.state.phase("first_worker_ready")
        self.executor.forked(w.id, w.pid)
        self.sel.modify(chan.sock, selectors.EVENT_READ, ("worker", w.id))
        self.state.worker_ready(w.id, w.pid, w.caps, w.ready_at - w.requested_at, replacement=w.replacement)
        assert self.scheduler is not None
        caps = {**self.state.slot_caps(w.slot), **w.caps}
        if self.groups is not None:
            caps[GROUP_CAP] = w.group  # the scheduler gives it its group's tests only
        w.caps = caps
        self.scheduler.add_worker(WorkerSpec(w.id, caps, frozenset(caps.get("tags") or [])))
        self._feed(w)

    def _retire_early_workers(self) -> None:
        """Workers started before the collection was known, in slots the plan shaped
        differently: the executor removed them; forget them and start the planned ones."""
        retired = [w for w in self.workers.values() if w.status is not DEAD]
        for w in retired:
            w.status = DEAD
        ids = {w.id for w in retired}
        for chan, msg in self.early_hellos:
            if msg.get("worker") in ids:
                self._drop(chan)
        self.early_hellos = [(c, m) for c, m in self.early_hellos if m.get("worker") not in ids]
        for w in retired:
            self._start_worker(w.slot, replacement=False)

    def _on_exit(self, wid: str, status: str) -> None:
        w = self.workers.get(wid)
        if w is None or w.status is DEAD:
            return
        if w.chan is not None:
            # What the worker wrote before it exited (its last results, its bye) may still be
            # unread when the exit status arrives on another channel: read it first.
            try:
                last = w.chan.poll()
            except ChannelClosed:  # nothing more: the peer is gone
                last = w.chan.messages()
            for msg in last:
                self._on_worker_msg(w, msg)
        # Told to stop (or halt) before it died: it may have exited as told.
        stopping = w.status is STOPPING or w.status is HALTED
        w.status = DEAD
        if w.chan is not None:
            try:
                self.sel.unregister(w.chan.sock)
            except (KeyError, ValueError):
                pass
            w.chan.close()
        assert self.scheduler is not None
        self.scheduler.remove_worker(w.id)
        # What the worker held, by the ledger: the test it was running (started, no result)
        # and the tests it never started, which alone may go back to the queue as they are.
        ledger = self.ledger
        running: int | None = None
        leftover: list[int] = []
        for i in w.outstanding:
            if ledger.running_on(i, w.id):
                running = i
            elif ledger.state[i] == ASSIGNED and ledger.holder[i] == w.id:
                leftover.append(i)
        for i in w.outstanding:
            self.scheduler.done(w.id, i)
        for i in leftover:
            ledger.release(i, w.id)
        lost = self.executor.lost(w.id)
        if lost is not None:  # its node went away: not the test's fault, so it runs again, once
            moved = [running] if running is not None and running not in self.requeued_lost else []
            self.requeued_lost.update(moved)
            if running is not None and moved:
                ledger.end_running(running, w.id)
                ledger.retry(running)  # a counted attempt: it started
                leftover.insert(0, running)
                running = None
            self.state.lost_workers.append(
                {**lost, "worker": w.id, "requeued": [self.items[i]["nodeid"] for i in moved]}
            )
        if (
            running is not None
            and w.killed_at is not None
            and w.timed_out is not None
            and w.timed_out != running
            and not self.kill_requested
        ):
            # The controller's timeout kill meant for an earlier test landed on this one
            # (an executor that cannot pause a worker): not its fault, it runs again.
            ledger.end_running(running, w.id)
            ledger.retry(running)
            leftover.insert(0, running)
            running = None
        if running is not None:
            ledger.end_running(running, w.id)
            self._settle_lost(w, running, status)
        if leftover:
            self.scheduler.requeue(leftover)
        w.outstanding.clear()
        # The workers a multi-slot test (cpus=k, mpi=N) kept idle are free: feed or stop them.
        self.feed_idle = True
        self.state.worker_gone(w.id, status, w.finished_tests)
        # A worker told to stop still counts when it died holding tests it never started.
        if w.finished_tests == 0 and running is None and (not stopping or leftover) and lost is None:
            self.early_deaths += 1
        if self.early_deaths >= EARLY_DEATH_LIMIT:
            self.breaker_message = (
                f"testfleet: {self.early_deaths} workers in a row died before running any test "
                f"(last: {status}); stopping. Worker log:\n{read_tail(self.executor.worker_file(w.id, 'log'), 2000) or ''}"
            )
            self.stop_requested = True
            return
        if (
            not stopping
            and self.workers.get(self.slots[w.slot]) is w
            and self._work_remains()
            and self._can_start_workers(w.slot)
            and (lost is None or self.executor.can_start(w.slot))
        ):
            self._start_worker(w.slot)
        elif w.group in self.groups_gone:
            self._set_aside_group(w.group)

    def _check_timeouts(self) -> None:
        limit = self.settings.timeout
        if not limit:
            return
        now = time.monotonic()
        for w in list(self.workers.values()):
            if w.status is DEAD or w.running is None or w.timed_out is not None:
                continue
            if now - w.started_at > limit:
                self._time_out(w)

    def _time_out(self, w: Worker) -> None:
        """Kill ``w`` for the attempt it is running now, and only for that one: its stacks
        are read, then it is paused (SIGSTOP of its group) and what it sent meanwhile is
        read. A test that ended in the meantime keeps its real outcome, and the worker goes
        on; else the kill lands on the attempt it was meant for."""
        idx = w.running
        assert idx is not None
        attempt = self.ledger.attempt[idx]
        stacks = self.executor.dump_stacks(w.id)
        paused = self.executor.pause(w.id)  # local: SIGSTOP; Ray: cannot
        self._drain(w)
        if w.status is DEAD or not (
            w.running == idx and self.ledger.attempt[idx] == attempt and self.ledger.running_on(idx, w.id)
        ):
            if paused:
                self.executor.resume(w.id)
            return
        w.timed_out = idx
        w.timeout_stacks = stacks
        w.killed_at = time.monotonic()
        self.executor.kill(w.id)

    def _check_eof(self) -> None:
        now = time.monotonic()
        gone = self.executor.exited  # local: the worker's pid is gone; Ray: cannot tell
        orphaned = not self._can_start_workers()
        for w in self.workers.values():
            if w.status is DEAD:
                continue
            if self.groups is not None:
                orphaned = not self._can_start_workers(w.slot)
            if w.eof_at is not None and now - w.eof_at > EXIT_GRACE and w.killed_at is None:
                self.executor.kill(w.id)  # the exit message follows
                w.killed_at = now
            if not (orphaned or (w.killed_at is not None and now - w.killed_at > KILL_GRACE)):
                continue
            # No exit status will come (the collector that reports them is gone, or stopped):
            # a worker whose process is gone has exited.
            if w.pid is None and w.chan is None and orphaned and not self.executor.forked_pid(w.id):
                why = self.groups_gone.get(w.group) if self.groups is not None else self.collector_gone
                self.exits.append((w.id, f"was never started: {why}"))
            elif (w.eof_at is not None or w.killed_at is not None) and gone(w.id):
                status = (
                    "killed by signal 9 (SIGKILL)"
                    if w.killed_at is not None
                    else "exited (its exit status was lost with the collector)"
                )
                self.exits.append((w.id, status))
        if self.kill_requested and now - self.kill_requested_at > KILL_GRACE * 2:
            for w in self._live():  # killed, and still no exit after seconds: gone all the same
                self.exits.append((w.id, "killed when the run was interrupted (no exit status came)"))
        self.exits.extend(self.executor.poll_exits())

    def _handle_exits(self) -> None:
        while self.exits:
            batch, self.exits = self.exits, []
            for wid, status in batch:
                self._on_exit(wid, status)

    def _check_collector(self) -> None:
        """A collector that died or was stopped (a test may kill or stop its parent): a
        stopped one is continued; a dead one is noted, and no worker is started any more."""
        now = time.monotonic()
        if self.collector_gone is not None or now < self._next_health:
            return
        self._next_health = now + HEALTH_EVERY
        if self.groups is not None:
            for group in self.group_order:
                if group not in self.groups_gone:
                    lost = self.executor.collector_health(group)
                    if lost is not None:
                        self._collector_lost(lost, group)
            return
        why = self.executor.collector_health()
        if why is not None:
            self._collector_lost(why)

    def _collector_status(self, group: int | None = None) -> str:
        code = None
        for _ in range(25):  # its pipe closed: its exit status follows within moments
            code = self.executor.collector_exit(group or 0)
            if code is not None:
                break
            time.sleep(0.02)
        if code is None:
            who = "the collector process" if group is None else f"collector {group}'s process"
            return f"{who} closed its connection"
        return collector_ended(code, group)

    def _group_of_chan(self, chan: Any) -> int | None:
        """--collectors K: which collector this channel is (None with one collector)."""
        if self.groups is None:
            return None
        return next((g for g, c in self.collector_chans.items() if c is chan), None)

    def _set_aside_group(self, group: int) -> None:
        """--collectors K: ``group``'s collector is gone and none of its workers is left:
        its tests not handed out end not_run, saying why; the other groups go on."""
        if any(w.group == group for w in self._live()) or self.scheduler is None:
            return
        drain_group = getattr(self.scheduler, "drain_group", None)
        if drain_group is None:
            return
        for idx in drain_group(group):
            if not self.state.is_final(idx):
                self._set_aside(
                    idx,
                    f"no worker was left to run it: {self.groups_gone[group]}, "
                    "so no worker of its group could be started any more",
                )

    def _collector_lost(self, why: str, group: int | None = None) -> None:
        """The collector (the workers' parent, which forks replacements and reports exits)
        is gone. Running workers go on; worker exits are then found by their pids; tests left
        when no worker is left end not_run, saying why. With --collectors K, only ``group``'s
        workers and tests; the other groups go on."""
        if group is not None:
            if group in self.groups_gone:
                return
            self.groups_gone[group] = why
            self.state.progress.note(
                f"testfleet: {why}; the running workers of its group go on, none can be started any more"
            )
            self.state.warning(
                {
                    "t": "warning",
                    "nodeid": "",
                    "when": "runtest",
                    "category": "TestfleetWarning",
                    "message": f"{why}; no worker of its group could be started after that",
                    "filename": "",
                    "lineno": 0,
                }
            )
            self._set_aside_group(group)
            return
        if self.collector_gone is not None:
            return
        self.collector_gone = why
        if self.settings.start == "fork" and self.settings.backend == "local":
            self.state.progress.note(
                f"testfleet: {why}; the running workers go on, none can be started any more"
            )
            self.state.warning(
                {
                    "t": "warning",
                    "nodeid": "",
                    "when": "runtest",
                    "category": "TestfleetWarning",
                    "message": f"{why}; no worker could be started after that",
                    "filename": "",
                    "lineno": 0,
                }
            )
