"""Dispatch: what each worker's queue holds.

A worker's queue holds its running test and the next one (so pytest knows the next item and
tears fixtures down as in a plain run). For short tests of known duration it holds about
PREFETCH_SECONDS of work instead, up to MAX_DEPTH tests, topped up when half is left, so a
worker never waits for a round trip between two tiny tests; the end of the run stays balanced
to within that much work. A test of weak estimate (no history, nothing of its module run yet,
or long) is handed out alone in a "late" batch: the worker may start it before its next item
is known and asks for that (``next``) when the test tears down.

Queues are topped up once per loop round (``to_feed``, ``_feed_round``), not after every
message. When nothing is left to hand out, an idle worker takes back tests queued on another
(``unqueue``; the victim answers ``returned``) if they are worth STEAL_SECONDS of work, waits
while others still hold unstarted tests, and is told to stop otherwise.
"""

from __future__ import annotations

import time
from typing import Any

from testfleet.controller.verdicts import Verdicts
from testfleet.controller.workers import DEAD, HALTED, READY, STOPPING, Worker
from testfleet.hardware.pool import run_env
from testfleet.ledger import ASSIGNED
from testfleet.messages import ChannelClosed

PREFETCH_SECONDS = 0.05
MAX_DEPTH = 64
# An idle worker takes back tests queued on another only if they are worth this much work.
STEAL_SECONDS = 0.2


class Dispatch(Verdicts):
    """Feeds workers (see the module docstring); ``_feed`` is the one place work is sent."""

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
        if w.status is not READY or w.chan is None:
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
                if asked or (
                    len(w.outstanding) == 1
                    and w.running is None
                    and not w.flushed
                    and w.outstanding[-1] != w.late_tail
                ):
                    w.flushed = True
                    w.chan.send({"t": "flush"})
            elif not self._work_remains():
                victim = self._victim(w)
                if victim is not None:  # tests wait on another worker's queue: take some back
                    self._unqueue(victim)
                elif not self._unqueue_due() and not self._held_elsewhere(w):
                    w.status = STOPPING
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
            if w is thief or w.status is not READY or w.group != thief.group:  # --collectors: its group
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
        return any(
            w is not thief
            and w.status is not DEAD
            and w.group == thief.group
            and (
                self._unstarted(w) > 0
                and w.status is not STOPPING
                and w.status is not HALTED
                or retries
                and bool(w.outstanding)
            )
            for w in self.workers.values()
        )

    def _unqueue_due(self) -> bool:
        return any(w.unqueue_sent and w.status is not DEAD for w in self.workers.values())

    def _unqueue(self, victim: Worker) -> None:
        idle = sum(
            1 for w in self._live() if w.status is READY and not w.outstanding and w.group == victim.group
        )
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
        if w.chan is None or w.status is DEAD or w.status is HALTED:
            return
        w.status = HALTED
        try:
            w.chan.send({"t": "halt"})
        except ChannelClosed:
            pass

    def _fits_deadline(self, idx: int) -> bool:
        if self.settings.deadline is None:
            return True
        elapsed = time.perf_counter() - self.state.t0
        return elapsed + self.state.estimates.get(idx, 0.0) <= self.settings.deadline

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
            if other.status is READY and not other.outstanding:
                self._feed(other)
