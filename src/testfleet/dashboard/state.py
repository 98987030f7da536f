"""What the live page shows, kept up to date from the run's event bus.

:class:`LiveState` subscribes to the bus (:mod:`testfleet.events`); its handler runs in the
controller's thread, so it only updates a few counters and dicts under a lock and returns: no
I/O, no JSON, nothing that waits on a browser. The web server's thread reads it with
:meth:`LiveState.view`, which copies what a page needs into plain JSON-able values.

Failures are numbered (``seq``) and the newest :data:`MAX_FAILURES` are kept, so a client asks
for the failures after the last one it has (``since``) and a client that comes back after a
long time gets what is still kept and learns how many it missed.

Nothing here imports pytest or Starlette.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from testfleet import events
from testfleet.model import FAILURE_VALUES, OUTCOME_ORDER

MAX_FAILURES = 200  # failures kept for pages that connect later
MAX_FAILURE_TEXT = 8000  # characters of a failure's text sent to the page


@dataclass
class Lane:
    """One worker slot: what it runs now and what it has done."""

    worker_id: str
    host: str = ""
    node: str | None = None
    pid: int | None = None
    up: bool = True
    current: str | None = None
    since: float | None = None  # when the current test started (epoch seconds)
    done: int = 0
    reason: str = ""  # why it went down

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "worker": self.worker_id,
            "host": self.host,
            "node": self.node,
            "pid": self.pid,
            "up": self.up,
            "current": self.current,
            "done": self.done,
            "reason": self.reason,
            "elapsed": None if self.since is None else round(max(0.0, now - self.since), 2),
        }


class LiveState:
    """The live view of one run, fed by :meth:`handle` (an event-bus subscriber).

    ``version`` grows with every change, so a reader can tell cheaply whether anything
    happened since it last looked.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.version = 0
        self.run_id = ""
        self.backend = "local"
        self.planned_workers = 0
        self.started: float | None = None  # RunStarted
        self.first_test: float | None = None  # first TestStarted: the ETA counts from here
        self.total: int | None = None
        self.deselected = 0
        self.counts: Counter[str] = Counter()
        self.flaky = 0
        self.retried = 0
        self.lanes: dict[str, Lane] = {}
        self.failures: deque[dict[str, Any]] = deque(maxlen=MAX_FAILURES)
        self.failure_seq = 0
        self.end: dict[str, Any] | None = None

    def subscribe(self, bus: events.EventBus) -> Callable[[], None]:
        return bus.subscribe(self.handle)

    # ------------------------------------------------------------------ events (controller thread)
    def handle(self, event: Any) -> None:
        with self._lock:
            self.version += 1
            if isinstance(event, events.TestFinished):
                self._finished(event)
            elif isinstance(event, events.TestStarted):
                lane = self._lane(event.worker_id)
                lane.current, lane.since = event.nodeid, event.time
                if self.first_test is None:
                    self.first_test = event.time
            elif isinstance(event, events.WorkerUp):
                lane = self._lane(event.worker_id)
                lane.host, lane.node, lane.pid, lane.up, lane.reason = (
                    event.host,
                    event.node,
                    event.pid,
                    True,
                    "",
                )
            elif isinstance(event, events.WorkerDown):
                lane = self._lane(event.worker_id)
                lane.up, lane.reason, lane.current, lane.since = False, event.reason, None, None
            elif isinstance(event, events.Collected):
                self.total, self.deselected = event.total, event.deselected
            elif isinstance(event, events.RunStarted):
                self.run_id, self.backend, self.planned_workers = event.run_id, event.backend, event.workers
                self.started = event.time
            elif isinstance(event, events.RunFinished):
                self.end = {
                    "status": event.status,
                    "exit_code": event.exit_code,
                    "counts": dict(event.counts),
                    "wall_seconds": round(event.wall_seconds, 3),
                }
                for lane in self.lanes.values():
                    lane.current = lane.since = None

    def _lane(self, worker_id: str) -> Lane:
        lane = self.lanes.get(worker_id)
        if lane is None:
            lane = self.lanes[worker_id] = Lane(worker_id)
        return lane

    def _finished(self, event: events.TestFinished) -> None:
        if event.worker_id is not None:
            lane = self.lanes.get(event.worker_id)
            if lane is not None:
                lane.done += 1
                if lane.current == event.nodeid:
                    lane.current = lane.since = None
        if event.final:
            self.counts[event.outcome] += 1
            self.flaky += event.flaky
        else:
            self.retried += 1
        if event.outcome in FAILURE_VALUES:
            self.failure_seq += 1
            text = event.failure_text or event.message or ""
            self.failures.append(
                {
                    "seq": self.failure_seq,
                    "nodeid": event.nodeid,
                    "outcome": event.outcome,
                    "worker": event.worker_id,
                    "attempt": event.attempt,
                    "final": event.final,
                    "message": event.message or "",
                    "text": text[:MAX_FAILURE_TEXT],
                    "truncated": len(text) > MAX_FAILURE_TEXT,
                    "time": self._clock(),
                }
            )

    # ------------------------------------------------------------------ reading (server thread)
    def view(self, since: int = 0) -> dict[str, Any]:
        """The page's data as JSON-able values; ``failures`` only those after number ``since``."""
        with self._lock:
            now = self._clock()
            done = sum(self.counts.values())
            failures = [f for f in self.failures if f["seq"] > since] if since < self.failure_seq else []
            oldest = self.failures[0]["seq"] if self.failures else self.failure_seq + 1
            lanes = [lane.as_dict(now) for lane in self.lanes.values()]
            data: dict[str, Any] = {
                "version": self.version,
                "now": now,
                "run_id": self.run_id,
                "backend": self.backend,
                "planned_workers": self.planned_workers,
                "total": self.total,
                "done": done,
                "deselected": self.deselected,
                "flaky": self.flaky,
                "retried": self.retried,
                "counts": _ordered(self.counts),
                "elapsed": None
                if self.started is None
                else round((self.end and self.end["wall_seconds"]) or now - self.started, 2),
                "eta": None if self.end else _eta(done, self.total, self.first_test, now),
                "lanes": lanes,
                "nodes": _nodes(lanes),
                "failures": failures,
                "failure_seq": self.failure_seq,
                "missed_failures": max(0, oldest - since - 1),
                "snapshot": since == 0,
                "end": dict(self.end) if self.end else None,
            }
        return data


def _ordered(counts: Counter[str]) -> dict[str, int]:
    known = [o for o in OUTCOME_ORDER if counts.get(o)]
    return {o: counts[o] for o in [*known, *sorted(set(counts) - set(OUTCOME_ORDER))] if counts[o]}


def _eta(done: int, total: int | None, first_test: float | None, now: float) -> float | None:
    """Seconds left at the rate so far (None until a test has finished)."""
    if not total or not done or first_test is None or now <= first_test:
        return None
    return round(max(0, total - done) * (now - first_test) / done, 1)


def _nodes(lanes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lanes grouped by Ray node (or host), with the node's health: all its workers up
    (healthy), some down (degraded) or all down (down)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for lane in lanes:
        groups.setdefault(lane["node"] or lane["host"] or "local", []).append(lane)
    out = []
    for name, members in groups.items():
        up = sum(1 for m in members if m["up"])
        health = "healthy" if up == len(members) else "down" if up == 0 else "degraded"
        out.append({"node": name, "workers": [m["worker"] for m in members], "up": up, "health": health})
    return out
