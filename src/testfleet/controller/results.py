"""Messages from workers and the collector, one at a time, as the loop reads them: a test
started, a test done (its reports rebuilt and settled; the next test started right after), a
late test asking for its next item, tests given back, warnings, plugin data, goodbyes; and the
collector's ``forked``/``exited`` notes."""

from __future__ import annotations

import time
from typing import Any

from testfleet import events
from testfleet.controller.dispatch import Dispatch
from testfleet.controller.workers import DEAD, Worker
from testfleet.messages import ChannelClosed
from testfleet.rebuild import rebuild


class Results(Dispatch):
    """Handles what workers and the collector send, one message at a time."""

    def _on_worker_msg(self, w: Worker, msg: dict[str, Any]) -> None:
        """One message of ``w``'s. The hot path: a ``done`` is rebuilt and settled here; its
        worker's queue is topped up at the end of the loop round (``to_feed``)."""
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
            entries = msg["r"]
            reports = rebuild(self.config, self.items[idx]["nodeid"], self._location(idx), msg["kw"], entries)
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
            self._settle_reports(idx, w, reports, all(type(e) is list for e in entries))
            nxt = msg.get("next")
            if nxt is not None and w.status is not DEAD:  # the worker started its next test right after
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
            self.state.bus.publish(
                events.TestStarted(
                    self.items[idx]["nodeid"], w.id, w.started_wall, len(self.state.attempts.get(idx, ())) + 1
                )
            )

    def _on_collector_msg(self, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "forked":
            self.executor.forked(msg["worker"], msg["pid"])
        elif kind == "exited":
            self.exits.append((msg["worker"], msg["status"]))  # handled at the end of the round

    def _drain(self, w: Worker) -> None:
        """Read and handle every message ``w`` has sent so far."""
        if w.chan is None or w.status is DEAD:
            return
        try:
            msgs = w.chan.poll()
        except ChannelClosed:
            msgs = w.chan.messages()
        for msg in msgs:
            self._on_worker_msg(w, msg)
