"""The controller: the run loop of a fleet run, inside the pytest process the user started.

It owns the verdicts. Workers can die, hang or lie; every collected test still ends with
exactly one final outcome. The loop is single-threaded around a selector: messages from the
collector and the workers, worker exits, timeouts and Ctrl-C are all handled here, and every
final report is re-emitted through pytest's own hooks (terminal, junitxml, other plugins).
"""

from __future__ import annotations

import gc
import os
import resource
import secrets
import selectors
import signal
import socket
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from testfleet import events
from testfleet.config import Settings
from testfleet.errors import UsageError
from testfleet.executor.local import collector_ended
from testfleet.hardware.forksafety import spawn_mismatch
from testfleet.hardware.pool import run_env
from testfleet.ledger import ASSIGNED, ENDED, NAMES, PENDING, InvariantBroken, Ledger
from testfleet.messages import PROTOCOL_VERSION, Channel, ChannelClosed
from testfleet.model import Outcome, TestResult
from testfleet.outcomes import captured, message_of, one_line, outcome_of, synthetic_reports
from testfleet.rebuild import fallback_location, from_dict, rebuild
from testfleet.run_state import RunState
from testfleet.scheduler.constraints import widest
from testfleet.scheduler.protocol import Scheduler, WorkerSpec
from testfleet.worker.capture import read_tail
from testfleet.worker.items import expand

# A worker that dies this many times in a row before finishing any test opens the breaker.
EARLY_DEATH_LIMIT = 5
# A worker's queue holds its running test and the next one (so pytest knows the next item
# and tears fixtures down as in a plain run). For short tests it holds about this many
# seconds of work instead, up to MAX_DEPTH tests, so a worker never waits for a round trip
# between two tiny tests; the end of the run stays balanced to within that much work.
PREFETCH_SECONDS = 0.05
MAX_DEPTH = 64
# The loop sleeps up to NAP_MAX before reading results, and only while every worker's queue
# holds at least 2 * NAP_MIN of work (see nap_seconds).
NAP_MAX = 0.005
NAP_MIN = 0.001
EXIT_GRACE = 3.0
# A worker the controller killed whose exit status has not come after this long is looked
# up by its pid (its parent, the collector, may be stopped or gone).
KILL_GRACE = 2.0
HEALTH_EVERY = 0.25  # seconds between looks at the collector process
# An idle worker takes back tests queued on another only if they are worth this much work.
STEAL_SECONDS = 0.2
# The controller keeps every report (pytest's terminal reporter holds them for the summary),
# so its heap grows with the run and each full cyclic-GC pass gets slower. Every this many
# settled tests what exists is frozen (gc.freeze): later passes skip it. The plugin unfreezes
# at the end of the run, after pytest's own end-of-session GC passes (plugin.pytest_configure).
FREEZE_EVERY = 2000


class DeselectedItem:
    """Stands for an item the collector deselected (-k, -m, plugins) in the controller's
    ``pytest_deselected``: the items themselves live in the collector."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def __repr__(self) -> str:
        return f"<DeselectedItem {self.nodeid}>"


class CollectionFailed(Exception):
    def __init__(self, exitcode: int, log: str) -> None:
        super().__init__(f"collection failed with exit code {exitcode}")
        self.exitcode = exitcode
        self.log = log


@dataclass
class Worker:
    id: str
    slot: int
    gen: int
    env: dict[str, str]
    chan: Channel | None = None
    pid: int | None = None
    caps: dict[str, Any] = field(default_factory=dict)
    outstanding: deque[int] = field(default_factory=deque)
    running: int | None = None
    started_at: float = 0.0
    started_wall: float = 0.0
    requested_at: float = 0.0
    ready_at: float | None = None
    stopping: bool = False
    dead: bool = False
    replacement: bool = False  # replaces a worker of its slot that died (a crash, a timeout)
    eof_at: float | None = None
    finished_tests: int = 0
    timed_out: int | None = None
    killed_at: float | None = None  # when the controller killed it (its exit must follow)
    timeout_stacks: str = ""
    peak_rss_kb: int | None = None
    flushed: bool = False
    halted: bool = False  # told to drop what it holds (the run is stopping)
    avg_duration: float | None = None  # moving average of this worker's recent tests
    late_tail: int | None = None  # the last test sent in a "late" batch (see Controller._feed)
    unqueue_sent: bool = False  # asked to give back unstarted tests; its "returned" is due


def nap_seconds(workers: Iterable[Worker]) -> float:
    """How long the loop may sleep before it reads messages: half the queued work of the
    worker with the least (by its recent test durations), at most NAP_MAX, and not at all
    while a worker is starting, stopping, new, or holds less than 2 * NAP_MIN. Reading
    results in batches a few milliseconds late saves a wake-up per test: with tests of a
    fraction of a millisecond, the controller and the workers otherwise take the CPU from
    each other after every test."""
    slack: float | None = None
    for w in workers:
        if w.dead:
            continue
        if w.chan is None or w.stopping or w.avg_duration is None:
            return 0.0
        queued = (len(w.outstanding) - 1) * w.avg_duration
        slack = queued if slack is None else min(slack, queued)
    return 0.0 if slack is None or slack < 2 * NAP_MIN else min(NAP_MAX, slack / 2)


class Controller:
    def __init__(self, config: pytest.Config, settings: Settings, state: RunState) -> None:
        self.config = config
        self.settings = settings
        self.state = state
        self.sel = selectors.DefaultSelector()
        self.workers: dict[str, Worker] = {}
        self.slots: dict[int, str] = {}
        self.items: list[dict[str, Any]] = []
        self.locations = state.locations  # from the workers' start messages; the summary reads them too
        self.scheduler: Scheduler | None = None
        self.stop_requested = False
        self.kill_requested = False
        self.kill_requested_at = 0.0
        self.early_deaths = 0
        self.breaker_message: str | None = None
        self.requeued_lost: set[int] = set()  # tests already moved once off a lost node
        self.early_hellos: list[tuple[Channel, dict[str, Any]]] = []  # workers ready before the collection
        self._settled_since_freeze = 0
        # Workers whose queues this loop round's messages shortened: topped up once at the end
        # of the round (_feed_round), with one ``run`` message each, not after every message.
        self.to_feed: dict[str, Worker] = {}
        self.feed_idle = False
        self.ledger = Ledger(0)  # where each test is; made for the collection (see ledger.py)
        # Worker exits seen in a loop round, handled after every message of the round: a
        # worker's last results and its exit often arrive in the same round, on two channels.
        self.exits: list[tuple[str, str]] = []
        self.collector_gone: str | None = None  # why no worker can be started any more
        self._next_health = 0.0
        self.observed: dict[str, float] = {}  # module -> what its tests took so far in this run
        self.observed_n: dict[str, int] = {}  # module -> how many of its tests ran so far

    # ------------------------------------------------------------------ start-up
    def run(self, session: pytest.Session) -> None:
        from testfleet.executor import make_executor

        self.session = session
        self.executor = make_executor(self.config, self.settings)
        for listener in self.executor.listeners:
            self.sel.register(listener, selectors.EVENT_READ, ("listen", None))
        old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        old_term = signal.signal(signal.SIGTERM, self._on_sigterm)
        if self.state.bus.wants(events.RunStarted):
            self.state.bus.publish(events.RunStarted(
                self.state.run_id, self.state.started, self.settings.workers, self.settings.backend,
                tuple(str(a) for a in self.config.invocation_params.args), str(self.config.rootpath)))
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
            if collected.get("fork_hazard") and self.settings.start == "fork" and self.executor.backend == "local":
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
            # Building the scheduler makes a few objects per test, all kept for the run: the
            # cyclic GC would walk the growing heap several times over for nothing.
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                self.scheduler = self.state.make_scheduler(self.items, len(collected["deselected"]))
            finally:
                if gc_was_enabled:
                    gc.enable()
            gc.freeze()
            self.state.phase("scheduled")
            for index, outcome, reason in self.state.presettled():
                self._settle_controller(index, outcome, reason, None)
            from testfleet.report.progress import make_progress

            # Chosen now: the terminal reporter did not exist yet when the run state was made.
            self.state.progress = make_progress(self.config)
            self.state.progress.begin(len(self.items), self.settings.workers)
            if placed:
                for slot in range(min(n, max(1, self.scheduler.pending()))):
                    if slot not in self.slots or self.workers[self.slots[slot]].dead:
                        self._start_worker(slot)
                for chan, msg in self.early_hellos:
                    self._on_hello(chan, msg)
                self.early_hellos.clear()
            self._loop()
            gc.freeze()  # what the run made stays out of the end-of-session GC passes
            self.state.phase("loop_end")
        finally:
            signal.signal(signal.SIGINT, old_handler)
            signal.signal(signal.SIGTERM, old_term)
            self._shutdown()
        if self.breaker_message:
            self.state.internal_error = self.breaker_message
        if self.stop_requested or self.kill_requested:
            raise session.Interrupted(f"testfleet: interrupted, {self.state.count(Outcome.NOT_RUN)} tests not run")
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        not_run = self.state.count(Outcome.NOT_RUN)
        if not_run:  # past a --deadline, or no worker left: the run did not finish (exit 2)
            raise session.Interrupted(f"testfleet: {not_run} test{'s' if not_run != 1 else ''} not run")

    def _wait_for_collection(self) -> dict[str, Any]:
        while True:
            for kind, chan, msg in self._poll(0.2):
                if kind != "msg":
                    continue
                if msg["t"] == "collected":
                    self.executor.attach_collector(chan)
                    self.sel.modify(chan.sock, selectors.EVENT_READ, ("collector", chan))
                    return dict(msg)
                if msg["t"] == "failed":
                    raise CollectionFailed(int(msg["exitcode"]), self.executor.collector_log())
                if msg["t"] == "hello" and isinstance(chan, Channel):
                    self.early_hellos.append((chan, msg))  # served once the scheduler exists
            code = self.executor.collector_exit()
            if code is not None:
                # Give a last message in flight a chance, then give up.
                for kind, chan, msg in self._poll(0.2):
                    if kind == "msg" and msg["t"] == "collected":
                        self.executor.attach_collector(chan)
                        return dict(msg)
                raise CollectionFailed(code or 3, self.executor.collector_log())
            if self.kill_requested or self.stop_requested:
                raise KeyboardInterrupt

    def _emit_collection(self, session: pytest.Session, msg: dict[str, Any]) -> None:
        config = self.config
        for warning in msg.get("warnings", ()):  # the collector's, as pytest records them (compat/)
            self.state.warning(warning)
        for data in msg["errors"]:
            rep = self._report(data)
            config.hook.pytest_collectreport(report=rep)
            self.state.collection_report(rep.nodeid, "skipped" if rep.skipped else "error",
                                         one_line(rep) or rep.outcome)
        if msg["deselected"]:
            # Plugins read what they are given (hypothesis looks into each one's __dict__).
            config.hook.pytest_deselected(items=[DeselectedItem(nodeid) for nodeid in msg["deselected"]])
        self.items = expand(msg["items"], msg["extra"])
        self.ledger = Ledger(len(self.items))
        self.state.collected(self.items, msg.get("seconds", 0.0), msg["hash"], len(msg["deselected"]))
        session.testscollected = len(self.items)
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr._numcollected = len(self.items) + len(msg["deselected"])  # pytest subtracts the deselected (cli edit)
            if tr.verbosity <= 0:
                tr.showfspath = False
            tr.report_collect(True)
            tr.write_line(
                f"testfleet: {self.settings.workers} worker{'s' if self.settings.workers != 1 else ''} "
                f"({self.executor.backend}, {self.settings.start}), collected in {msg.get('seconds', 0):.2f}s")

    # ------------------------------------------------------------------ workers
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
        w = Worker(id=wid, slot=slot, gen=gen, env=env, requested_at=time.perf_counter(),
                   replacement=gen > 0 and replacement)
        self.workers[wid] = w
        self.slots[slot] = wid
        self.executor.start_worker(wid, env)

    def _on_hello(self, chan: Channel, msg: dict[str, Any]) -> None:
        w = self.workers.get(msg["worker"])
        if (w is None or w.dead or msg.get("token") != self.executor.token
                or msg.get("launch", "") != w.env.get("TESTFLEET_LAUNCH", "")):
            self._drop(chan)
            return
        if msg.get("version") != PROTOCOL_VERSION:
            self.breaker_message = (
                f"worker {w.id} speaks testfleet protocol {msg.get('version')}, this controller "
                f"{PROTOCOL_VERSION}: install the same testfleet version on every node")
            self.stop_requested = True
            self._drop(chan)
            return
        if msg["hash"] != self.state.collection_hash:
            self.breaker_message = spawn_mismatch(w.id, msg.get("caps") or {})  # hardware: its collection errors
            self.stop_requested = True
        w.chan, w.pid, w.caps = chan, msg["pid"], msg["caps"]
        w.ready_at = time.perf_counter()
        self.state.phase("first_worker_ready")
        self.executor.forked(w.id, w.pid)
        self.sel.modify(chan.sock, selectors.EVENT_READ, ("worker", w.id))
        self.state.worker_ready(w.id, w.pid, w.caps, w.ready_at - w.requested_at, replacement=w.replacement)
        assert self.scheduler is not None
        caps = {**self.state.slot_caps(w.slot), **w.caps}
        w.caps = caps
        self.scheduler.add_worker(WorkerSpec(w.id, caps, frozenset(caps.get("tags") or [])))
        self._feed(w)

    def _retire_early_workers(self) -> None:
        """Workers started before the collection was known, in slots the plan shaped
        differently: the executor removed them; forget them and start the planned ones."""
        retired = [w for w in self.workers.values() if not w.dead]
        for w in retired:
            w.dead = w.stopping = True
        ids = {w.id for w in retired}
        for chan, msg in self.early_hellos:
            if msg.get("worker") in ids:
                self._drop(chan)
        self.early_hellos = [(c, m) for c, m in self.early_hellos if m.get("worker") not in ids]
        for w in retired:
            self._start_worker(w.slot, replacement=False)

    def _estimate(self, idx: int) -> float | None:
        """What ``idx`` should take: its own history, else what the tests of its module took
        so far in this run; None when neither is known (a weak estimate: the module median
        of other tests' history is no guide to a test that never ran)."""
        nodeid = self.items[idx]["nodeid"]
        if self.state.history:
            own = self.state.history.get(nodeid)
            if own is not None:
                return float(own)
        return self.observed.get(nodeid.partition("::")[0])

    def _trust(self, idx: int) -> int:
        """How many of ``idx``'s kind may queue on one worker: any number with its own
        history, else as many as its module has run so far in this run (a slow start: one
        fast test says little about the module's others)."""
        nodeid = self.items[idx]["nodeid"]
        if self.state.history and nodeid in self.state.history:
            return MAX_DEPTH
        return max(2, self.observed_n.get(nodeid.partition("::")[0], 0))

    def _weak(self, idx: int) -> bool:
        """Unknown, or long enough that a round trip per test costs nothing: such a test is
        handed out alone (a "late" batch) and nothing waits behind it on its worker."""
        est = self._estimate(idx)
        return est is None or est * 2 >= PREFETCH_SECONDS

    def _depth(self, w: Worker, asked: bool = False) -> int:
        """How many tests the worker's queue should hold now (see PREFETCH_SECONDS)."""
        n = len(w.outstanding)
        if n == 0:
            return 2
        last = w.outstanding[-1]
        est = self._estimate(last)
        if est is None or est * 2 >= PREFETCH_SECONDS:
            if last == w.late_tail and not asked:
                return n  # it asks ("next") when it needs the next one
            return n + 1  # its tail waits for a next item: one more (alone, if weak)
        target = min(MAX_DEPTH, int(PREFETCH_SECONDS / max(est, 1e-4)), self._trust(last))
        # Top up in batches (when half is left), so worker and controller do not wake each
        # other for every test.
        return max(n + asked, target if n <= target // 2 else n)

    def _feed(self, w: Worker, asked: bool = False) -> None:
        """Keep the worker's queue just deep enough: the running test and its next item;
        more short tests of known duration; a test of weak estimate alone, sent as a "late"
        batch that the worker may start before its next item is known (it asks for that
        with ``next``, when the test tears down). A worker that asked always gets an answer."""
        if w.chan is None or w.dead or w.stopping:
            return
        assert self.scheduler is not None
        send: list[int] = []
        starved = late = False
        if not self._stopping():
            depth = self._depth(w, asked)
            while len(w.outstanding) < depth:
                idx = self.scheduler.next_for(w.id)
                if idx is None:
                    starved = True
                    break
                if not self._fits_deadline(idx):
                    self.scheduler.done(w.id, idx)
                    self._set_aside(idx, f"did not fit in the --deadline of {self.settings.deadline:g}s")
                    continue
                self.ledger.assign(idx, w.id)
                w.outstanding.append(idx)
                send.append(idx)
                if self._weak(idx):
                    late = True
                    break
                depth = min(depth, self._trust(idx) + 1)
        try:
            if send:
                env = run_env(self.scheduler, self.items, send)  # hardware: a GPU test's CUDA_VISIBLE_DEVICES
                message: dict[str, Any] = {"t": "run", "items": send}
                if env:
                    message["env"] = env
                if late:
                    message["late"] = True
                w.chan.send(message)
                w.flushed = False
                w.late_tail = send[-1] if late else None
            if self._stopping():
                self._halt(w)
            elif not self._work_remains() and w.outstanding:
                # Nothing left to hand out, but it still holds tests: it is told to stop only
                # once idle (an idle worker may take tests back from another's queue). Until
                # then a tail that waits for a next item, or a worker that asked, is flushed.
                if asked or (len(w.outstanding) == 1 and w.running is None and not w.flushed
                             and w.outstanding[-1] != w.late_tail):
                    w.flushed = True
                    w.chan.send({"t": "flush"})
            elif not self._work_remains():
                victim = self._victim(w)
                if victim is not None:  # tests wait on another worker's queue: take some back
                    self._unqueue(victim)
                elif not self._unqueue_due() and not self._held_elsewhere(w):
                    w.stopping = True
                    w.chan.send({"t": "stop"})
            elif asked and not send:
                w.flushed = True
                w.chan.send({"t": "flush"})
            elif starved and len(w.outstanding) == 1 and w.running is None and not w.flushed:
                # Work remains, but none this worker may take now: run what it holds.
                w.flushed = True
                w.chan.send({"t": "flush"})
        except ChannelClosed:
            pass

    def _unstarted(self, w: Worker) -> int:
        """Tests ``w`` holds that it could give back: neither running nor next."""
        return len(w.outstanding) - (1 if w.running is not None else 0) - 1

    def _victim(self, thief: Worker) -> Worker | None:
        """The worker holding the most tests it has not started (at least one beyond its
        next), for an idle ``thief``, if they are worth moving (STEAL_SECONDS of work by
        their estimates, or unknown); None if there is none or one was asked already."""
        best: Worker | None = None
        most = 0
        for w in self.workers.values():
            if w is thief or w.dead or w.stopping or w.chan is None:
                continue
            if w.unqueue_sent:
                return None  # one at a time: its answer frees work for the idle ones
            k = self._unstarted(w)
            if k > most:
                best, most = w, k
        if best is None:
            return None
        work = 0.0
        for i in list(best.outstanding)[-most:]:
            est = self._estimate(i)
            work += STEAL_SECONDS if est is None else est
            if work >= STEAL_SECONDS:
                return best
        return None

    def _held_elsewhere(self, thief: Worker) -> bool:
        """Another worker still holds tests it has not started (maybe worth taking later,
        once what they take is known): an idle worker waits instead of stopping."""
        retries = self.settings.retries > 0  # a running test may come back as a retry
        return any(w is not thief and not w.dead and (self._unstarted(w) > 0 and not w.stopping
                                                      or retries and bool(w.outstanding))
                   for w in self.workers.values())

    def _unqueue_due(self) -> bool:
        return any(w.unqueue_sent and not w.dead for w in self.workers.values())

    def _unqueue(self, victim: Worker) -> None:
        idle = sum(1 for w in self._live() if not w.outstanding and not w.stopping and w.chan is not None)
        k = self._unstarted(victim)
        n = max(1, k * idle // (idle + 1))
        victim.unqueue_sent = True
        try:
            assert victim.chan is not None
            victim.chan.send({"t": "unqueue", "n": n})
        except ChannelClosed:
            pass

    def _on_returned(self, w: Worker, items: list[int]) -> None:
        """``w`` gave back tests it never started: they go back to the queue, for the idle."""
        w.unqueue_sent = False
        ledger = self.ledger
        back = [i for i in items if ledger.state[i] == ASSIGNED and ledger.holder[i] == w.id]
        assert self.scheduler is not None
        for i in back:
            ledger.release(i, w.id)
            w.outstanding.remove(i)
            self.scheduler.done(w.id, i)
        if back:
            self.scheduler.requeue(back)
            w.late_tail = w.outstanding[-1] if w.outstanding else None
        self.feed_idle = True

    def _halt(self, w: Worker) -> None:
        """The run is stopping (-x/--maxfail, Ctrl-C, a plugin): the worker ends its current
        test and exits; what it held comes back and ends not_run."""
        if w.chan is None or w.dead or w.halted:
            return
        w.stopping = w.halted = True
        try:
            w.chan.send({"t": "halt"})
        except ChannelClosed:
            pass

    def _fits_deadline(self, idx: int) -> bool:
        if self.settings.deadline is None:
            return True
        elapsed = time.perf_counter() - self.state.t0
        return elapsed + self.state.estimates.get(idx, 0.0) <= self.settings.deadline

    def _set_aside(self, idx: int, reason: str) -> None:
        """A test that will not run: not_run now, and whatever waits for it is skipped."""
        assert self.scheduler is not None
        self._not_run(idx, reason)
        for skip_idx, why in self.scheduler.finished(idx, Outcome.NOT_RUN.value):
            if not self.state.is_final(skip_idx):
                self._settle_controller(skip_idx, Outcome.SKIPPED.value, why, None)

    def _not_run(self, idx: int, reason: str | None = None) -> None:
        """Give ``idx`` its final ``not_run`` (from PENDING or an ended attempt; the end-of-run
        sweep passes ``sweep``)."""
        self.ledger.close(idx)
        if reason is None:
            self.state.not_run(idx)
        else:
            self.state.not_run(idx, reason)

    def _feed_round(self) -> None:
        """Top up the queues this round's messages shortened, then give work to idle workers
        if a test finished (its group or its dependants may have freed some)."""
        if self.to_feed:
            batch, self.to_feed = self.to_feed, {}
            for w in batch.values():
                self._feed(w)
        if self.feed_idle:
            self.feed_idle = False
            self._feed_idle()

    def _feed_idle(self) -> None:
        for other in self._live():
            if other.chan is not None and not other.outstanding and not other.stopping:
                self._feed(other)

    # ------------------------------------------------------------------ messages
    def _on_worker_msg(self, w: Worker, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "start":
            self._on_start(w, msg["i"], msg.get("ts"), msg.get("loc"))
            self.to_feed[w.id] = w
        elif kind == "done":
            idx = msg["i"]
            if not self.ledger.end(idx, w.id):  # not running there (stale, or a lie): refused
                return
            if w.outstanding and w.outstanding[0] == idx:
                w.outstanding.popleft()
            else:
                w.outstanding.remove(idx)
            w.running = None
            reports = rebuild(self.config, self.items[idx]["nodeid"], self._location(idx), msg["kw"], msg["r"])
            took = sum(r.duration for r in reports)
            w.avg_duration = took if w.avg_duration is None else 0.8 * w.avg_duration + 0.2 * took
            module = self.items[idx]["nodeid"].partition("::")[0]
            seen = self.observed.get(module)
            # What its module's tests took so far: a slow one counts at once, fast ones slowly.
            self.observed[module] = took if seen is None or took > seen else 0.8 * seen + 0.2 * took
            self.observed_n[module] = self.observed_n.get(module, 0) + 1
            w.finished_tests += 1
            self.early_deaths = 0
            assert self.scheduler is not None
            self.scheduler.done(w.id, idx)
            self._settle_reports(idx, w, reports)
            nxt = msg.get("next")
            if nxt is not None and not w.dead:  # the worker started its next test right after
                self._on_start(w, nxt[0], nxt[1], nxt[2])
            self.to_feed[w.id] = w
            self.feed_idle = True
        elif kind == "next":  # a test started before its next item was known tears down
            self._feed(w, asked=True)
        elif kind == "returned":
            self._on_returned(w, msg["items"])
        elif kind == "warning":
            self.state.warning(msg)
        elif kind == "workeroutput":  # xdist-style data a worker's plugins send back (compat/)
            from testfleet.compat import node_output

            node_output(self.config, w.id, msg.get("data") or {})
        elif kind == "bye":
            w.peak_rss_kb = msg.get("peak_rss_kb")
            self.state.worker_bye(w.id, w.peak_rss_kb, msg.get("tests", 0), msg.get("cpu_seconds"))

    def _on_start(self, w: Worker, idx: int, ts: float | None, loc: list[Any] | None) -> None:
        if not self.ledger.start(idx, w.id):  # not handed to this worker: refused
            return
        w.running, w.started_at, w.started_wall = idx, time.monotonic(), ts or time.time()
        if loc:
            self.locations[idx] = (loc[0], loc[1], loc[2])
        assert self.scheduler is not None
        self.scheduler.started(w.id, idx)
        self.state.progress.started(w.id, self.items[idx]["nodeid"])
        if self.state.bus.wants(events.TestStarted):
            self.state.bus.publish(events.TestStarted(self.items[idx]["nodeid"], w.id, w.started_wall,
                                                      len(self.state.attempts.get(idx, ())) + 1))

    def _location(self, idx: int) -> tuple[str, int | None, str]:
        loc = self.locations.get(idx)
        return loc if loc is not None else fallback_location(self.items[idx]["nodeid"])

    def _report(self, data: dict[str, Any]) -> Any:
        return from_dict(self.config, data)

    def _on_collector_msg(self, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "forked":
            self.executor.forked(msg["worker"], msg["pid"])
        elif kind == "exited":
            self.exits.append((msg["worker"], msg["status"]))  # handled at the end of the round

    # ------------------------------------------------------------------ outcomes
    def _settle_reports(self, idx: int, w: Worker, reports: list[pytest.TestReport]) -> None:
        outcome = outcome_of(reports)
        if outcome == Outcome.CRASHED:  # reports missing: treat as a crash of this test
            self._settle_controller(idx, Outcome.CRASHED.value,
                                    f"worker {w.id} sent no result for the test", w, reports)
            return
        result = self._result(idx, w, outcome.value, reports)
        self._finalize(idx, result, reports, w)

    def _result(self, idx: int, w: Worker | None, outcome: str, reports: list[pytest.TestReport],
                message: str | None = None, failure_text: str | None = None) -> TestResult:
        durations = {r.when: r.duration for r in reports}
        text = failure_text
        if text is None:
            failed = [r for r in reports if r.failed]
            text = "\n".join(r.longreprtext for r in failed) or None
        return TestResult(
            run_id=self.state.run_id, nodeid=self.items[idx]["nodeid"], outcome=outcome,
            worker=w.id if w else None, start=w.started_wall if w else time.time(),
            setup_duration=durations.get("setup", 0.0), call_duration=durations.get("call", 0.0),
            teardown_duration=durations.get("teardown", 0.0),
            message=message if message is not None else message_of(reports, Outcome(outcome)),
            failure_text=text, stdout=captured(reports, "stdout") or None,
            stderr=captured(reports, "stderr") or None,
        )

    def _settle_controller(self, idx: int, outcome: str, text: str, w: Worker | None,
                           prior: list[pytest.TestReport] | None = None,
                           sections: list[tuple[str, str]] | None = None, duration: float = 0.0) -> None:
        fail = not (outcome == Outcome.UNSCHEDULABLE.value and self.settings.allow_unschedulable)
        reports = synthetic_reports(self.items[idx]["nodeid"], self._location(idx), outcome, text, sections or [],
                                    duration, prior or [], fail=fail)
        first = text.strip().splitlines()[0] if text.strip() else outcome
        result = self._result(idx, w, outcome, reports, message=first, failure_text=text)
        if outcome != Outcome.SKIPPED.value:
            result.call_duration = duration
        self._finalize(idx, result, reports, w)

    def _finalize(self, idx: int, result: TestResult, reports: list[pytest.TestReport], w: Worker | None) -> None:
        """The one verb that gives a test an outcome: an attempt that ended (a worker's
        result, a crash, a timeout) or a test no worker holds (skipped, unschedulable).
        Retries go back to the queue; a final outcome is accepted once (the ledger refuses
        a second) and only then reaches pytest's hooks."""
        where = self.ledger.state[idx]
        if where not in (ENDED, PENDING):  # held by a worker, or final already: a controller bug
            raise InvariantBroken(f"outcome {result.outcome} for test {idx}, which is {NAMES[where]}")
        ended = where == ENDED  # an attempt ended; else a verdict on a test no worker holds
        retry = self.state.record_attempt(idx, result) and ended
        if retry:
            self.ledger.retry(idx)
            assert self.scheduler is not None
            self.scheduler.requeue([idx], avoid=w.id if w else None)
            return
        if ended:
            self.ledger.finish(idx)
        else:
            self.ledger.close(idx)
        info = self.items[idx]
        hook = self.config.hook
        location = self._location(idx)
        hook.pytest_runtest_logstart(nodeid=info["nodeid"], location=location)
        for rep in reports:
            if result.flaky:
                rep.testfleet_flaky = True  # type: ignore[attr-defined]
            hook.pytest_runtest_logreport(report=rep)
        hook.pytest_runtest_logfinish(nodeid=info["nodeid"], location=location)
        self.state.progress.finished(w.id if w else None, result.outcome)
        self._settled_since_freeze += 1
        if self._settled_since_freeze >= FREEZE_EVERY:
            self._settled_since_freeze = 0
            gc.freeze()
        assert self.scheduler is not None
        for skip_idx, reason in self.scheduler.finished(idx, result.outcome):
            if not self.state.is_final(skip_idx):
                self._settle_controller(skip_idx, Outcome.SKIPPED.value, reason, None)

    # ------------------------------------------------------------------ deaths and timeouts
    def _on_exit(self, wid: str, status: str) -> None:
        w = self.workers.get(wid)
        if w is None or w.dead:
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
        w.dead = True
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
            self.state.lost_workers.append({**lost, "worker": w.id,
                                            "requeued": [self.items[i]["nodeid"] for i in moved]})
        if (running is not None and w.killed_at is not None and w.timed_out is not None
                and w.timed_out != running and not self.kill_requested):
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
        self.feed_idle = True  # the workers a multi-slot test (cpus=k, mpi=N) kept idle are free: feed or stop them
        self.state.worker_gone(w.id, status, w.finished_tests)
        # A worker told to stop still counts when it died holding tests it never started.
        if w.finished_tests == 0 and running is None and (not w.stopping or leftover) and lost is None:
            self.early_deaths += 1
        if self.early_deaths >= EARLY_DEATH_LIMIT:
            self.breaker_message = (
                f"testfleet: {self.early_deaths} workers in a row died before running any test "
                f"(last: {status}); stopping. Worker log:\n{read_tail(self.executor.worker_file(w.id, 'log'), 2000)}")
            self.stop_requested = True
            return
        if (not w.stopping and self.workers.get(self.slots[w.slot]) is w and self._work_remains()
                and self._can_start_workers() and (lost is None or self.executor.can_start(w.slot))):
            self._start_worker(w.slot)

    def _settle_lost(self, w: Worker, idx: int, status: str) -> None:
        out1 = read_tail(self.executor.worker_file(w.id, "fd1"))
        out2 = read_tail(self.executor.worker_file(w.id, "fd2"))
        log = read_tail(self.executor.worker_file(w.id, "log"), 8000)
        crash = read_tail(self.executor.worker_file(w.id, "crash"), 16000)
        # A test's reports arrive together, after it ends: all there is of this one is what
        # its worker's capture files and logs hold.
        sections = [(title, body) for title, body in
                    (("Captured stdout call", out1), ("Captured stderr call", out2)) if body]
        elapsed = time.monotonic() - w.started_at
        if w.timed_out == idx:
            text = (f"Timeout: the test ran longer than {self.settings.timeout:g}s; testfleet stopped worker "
                    f"{w.id} (pid {w.pid}).\n\nPython stacks of every thread of the worker at the timeout:\n"
                    f"{w.timeout_stacks.strip() or '(no stacks could be read)'}")
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

    def _check_timeouts(self) -> None:
        limit = self.settings.timeout
        if not limit:
            return
        now = time.monotonic()
        for w in list(self.workers.values()):
            if w.dead or w.running is None or w.timed_out is not None:
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
        if w.dead or not (w.running == idx and self.ledger.attempt[idx] == attempt
                          and self.ledger.running_on(idx, w.id)):
            if paused:
                self.executor.resume(w.id)
            return
        w.timed_out = idx
        w.timeout_stacks = stacks
        w.killed_at = time.monotonic()
        self.executor.kill(w.id)

    def _drain(self, w: Worker) -> None:
        """Read and handle every message ``w`` has sent so far."""
        if w.chan is None or w.dead:
            return
        try:
            msgs = w.chan.poll()
        except ChannelClosed:
            msgs = w.chan.messages()
        for msg in msgs:
            self._on_worker_msg(w, msg)

    def _check_eof(self) -> None:
        now = time.monotonic()
        gone = self.executor.exited  # local: the worker's pid is gone; Ray: cannot tell
        orphaned = not self._can_start_workers()
        for w in self.workers.values():
            if w.dead:
                continue
            if w.eof_at is not None and now - w.eof_at > EXIT_GRACE and w.killed_at is None:
                self.executor.kill(w.id)  # the exit message follows
                w.killed_at = now
            if not (orphaned or (w.killed_at is not None and now - w.killed_at > KILL_GRACE)):
                continue
            # No exit status will come (the collector that reports them is gone, or stopped):
            # a worker whose process is gone has exited.
            if w.pid is None and w.chan is None and orphaned and not self.executor.forked_pid(w.id):
                self.exits.append((w.id, f"was never started: {self.collector_gone}"))
            elif (w.eof_at is not None or w.killed_at is not None) and gone(w.id):
                status = ("killed by signal 9 (SIGKILL)" if w.killed_at is not None
                          else "exited (its exit status was lost with the collector)")
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
        why = self.executor.collector_health()
        if why is not None:
            self._collector_lost(why)

    # ------------------------------------------------------------------ loop
    def _stopping(self) -> bool:
        """Ctrl-C, SIGTERM, -x/--maxfail or a plugin asked the run to stop dispatching."""
        return bool(self.stop_requested or self.kill_requested or self.session.shouldfail
                    or self.session.shouldstop)

    def _work_remains(self) -> bool:
        assert self.scheduler is not None
        return not self._stopping() and self.scheduler.pending() > 0

    def _can_start_workers(self) -> bool:
        """False once the collector that forks workers is gone."""
        return self.collector_gone is None or self.settings.start != "fork" or self.settings.backend != "local"

    def _live(self) -> list[Worker]:
        return [w for w in self.workers.values() if not w.dead]

    def _loop(self) -> None:
        assert self.scheduler is not None
        while True:
            nap = self._nap()
            if nap:
                time.sleep(nap)
            for kind, ref, msg in self._poll(0.05):
                if kind == "msg":
                    if isinstance(ref, Worker):
                        if not ref.dead:
                            self._on_worker_msg(ref, msg)
                    elif ref == "collector":
                        self._on_collector_msg(msg)
                    elif msg["t"] == "hello":
                        assert isinstance(ref, Channel)
                        self._on_hello(ref, msg)
                elif kind == "eof" and isinstance(ref, Worker):
                    ref.eof_at = ref.eof_at or time.monotonic()
                elif kind == "eof" and ref == "collector":
                    self._collector_lost(self._collector_status())
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
            live = self._live()
            if not live:
                if self._work_remains():
                    startable = [slot for slot in range(self.settings.workers)  # Ray: room left?
                                 if self._can_start_workers() and self.executor.can_start(slot)]
                    for slot in startable:
                        self._start_worker(slot)
                    if startable:
                        continue
                    if self.collector_gone is not None and self.settings.start == "fork":
                        for idx in self.scheduler.drain():
                            if not self.state.is_final(idx):
                                self._set_aside(idx, f"no worker was left to run it: {self.collector_gone}, "
                                                     "so no worker could be started any more")
                    else:
                        self._settle_stranded("no worker can be started any more")
                break
        assert self.scheduler is not None
        for idx in self.scheduler.drain():
            if not self.state.is_final(idx):
                self._not_run(idx)
        for idx in range(len(self.items)):
            if not self.state.is_final(idx):
                self.ledger.abandon(idx)  # the sweep: every test ends with exactly one outcome
                self.state.not_run(idx)
        self.state.journal_flush()

    def _nap(self) -> float:
        return 0.0 if self.stop_requested or self.kill_requested else nap_seconds(self.workers.values())

    def _check_stall(self) -> None:
        """Every worker is idle and ready, work remains, and none of it can be handed out:
        the rest can never run (e.g. a group held by a worker that died). Settle it."""
        assert self.scheduler is not None
        live = self._live()
        if not live or self.scheduler.pending() == 0:
            return
        if any(w.chan is None or w.outstanding or w.stopping for w in live):
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
            self._settle_controller(idx, Outcome.UNSCHEDULABLE.value,
                                    f"no worker left can run it: {reason}"
                                    + (f" (workers lost with: {lost})" if lost else ""), None)

    def _collector_status(self) -> str:
        code = None
        for _ in range(25):  # its pipe closed: its exit status follows within moments
            code = self.executor.collector_exit()
            if code is not None:
                break
            time.sleep(0.02)
        if code is None:
            return "the collector process closed its connection"
        return collector_ended(code)

    def _collector_lost(self, why: str) -> None:
        """The collector (the workers' parent, which forks replacements and reports exits)
        is gone. Running workers go on; worker exits are then found by their pids; tests left
        when no worker is left end not_run, saying why."""
        if self.collector_gone is not None:
            return
        self.collector_gone = why
        if self.settings.start == "fork" and self.settings.backend == "local":
            self.state.progress.note(f"testfleet: {why}; the running workers go on, none can be started any more")
            self.state.warning({"t": "warning", "nodeid": "", "when": "runtest", "category": "TestfleetWarning",
                                "message": f"{why}; no worker could be started after that",
                                "filename": "", "lineno": 0})

    def _poll(self, timeout: float) -> list[tuple[str, Any, Any]]:
        """One selector round: accept connections, read messages, note EOFs."""
        out: list[tuple[str, Any, Any]] = []
        try:
            events = self.sel.select(timeout)
        except InterruptedError:
            return out
        for key, _ in events:
            kind, ref = key.data
            if kind == "listen":
                while True:
                    try:
                        conn, _addr = key.fileobj.accept()  # type: ignore[union-attr]
                    except (BlockingIOError, InterruptedError):
                        break
                    conn.setblocking(False)
                    if conn.family != socket.AF_UNIX:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    chan = Channel(conn)
                    self.sel.register(conn, selectors.EVENT_READ, ("new", chan))
                continue
            if kind == "new":
                chan = ref
                alive = chan.feed()
                for msg in chan.messages():
                    out.append(("msg", chan, msg))
                    if msg["t"] == "hello":
                        # The rest of this connection's messages belong to a worker.
                        break
                # A connection that closed without becoming a worker or the collector is done.
                # (One that did is kept: its EOF is seen again under its new role.)
                if not alive and not any(ref2 is chan and m2["t"] in ("hello", "collected")
                                         for _kind, ref2, m2 in out):
                    self._drop(chan)
                continue
            if kind == "collector":
                chan = ref
                alive = chan.feed()
                for msg in chan.messages():
                    out.append(("msg", "collector", msg))
                if not alive:
                    self.sel.unregister(chan.sock)
                    out.append(("eof", "collector", None))
                continue
            if kind == "worker":
                w = self.workers[ref]
                assert w.chan is not None
                alive = w.chan.feed()
                for msg in w.chan.messages():
                    out.append(("msg", w, msg))
                if not alive:
                    try:
                        self.sel.unregister(w.chan.sock)
                    except (KeyError, ValueError):
                        pass
                    out.append(("eof", w, None))
        return self._expand(out)

    def _drop(self, chan: Channel) -> None:
        try:
            self.sel.unregister(chan.sock)
        except (KeyError, ValueError):
            pass
        chan.close()

    def _expand(self, events: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
        # A new connection's messages after its hello belong to the worker it became.
        out = []
        for kind, ref, msg in events:
            out.append((kind, ref, msg))
            if kind == "msg" and isinstance(ref, Channel) and msg["t"] == "hello":
                rest = ref.messages()
                wid = msg["worker"]
                for later in rest:
                    out.append(("msg", ("later", wid), later))
        final = []
        for kind, ref, msg in out:
            if isinstance(ref, tuple) and ref and ref[0] == "later":
                w = self.workers.get(ref[1])
                if w is not None:
                    final.append((kind, w, msg))
            else:
                final.append((kind, ref, msg))
        return final

    # ------------------------------------------------------------------ Ctrl-C and end
    def _on_sigint(self, signum: int, frame: Any) -> None:
        if not self.stop_requested:
            self.stop_requested = True
            self.state.progress.note(
                "testfleet: Ctrl-C: no new tests start; running tests finish. Ctrl-C again to kill the workers.")
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
            if w.chan is not None and not w.stopping:
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
