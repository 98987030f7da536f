"""The controller's handle on one worker: who it is, where its lifecycle stands
(:class:`WorkerStatus`), what it holds, and how its recent tests went; and how long the loop
may nap given every worker's queue (:func:`nap_seconds`)."""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from testfleet.messages import Channel

# The loop sleeps up to NAP_MAX before reading results, and only while every worker's queue
# holds at least 2 * NAP_MIN of work (see nap_seconds).
NAP_MAX = 0.005
NAP_MIN = 0.001
# A worker's pace (Worker.observe_pace) is measured over this many of its tests.
PACE_TESTS = 32


class WorkerStatus(enum.Enum):
    """Where a worker's life stands; it only moves forward: STARTING, then READY (its
    hello), then STOPPING (told to stop) and/or HALTED (told to halt), and DEAD at its exit
    from any of them (or when retired before its hello). Non-dead, it has a channel exactly
    when it is not STARTING."""

    STARTING = "starting"  # asked for; not connected yet (no channel)
    READY = "ready"  # connected and taking work
    STOPPING = "stopping"  # told to stop: runs what it holds, then exits
    HALTED = "halted"  # told to halt: ends its current test, drops the rest, exits
    DEAD = "dead"  # its exit was handled (or it was retired): nothing more comes from it


# Module-level names for the hot path: a module global is read faster than an enum member.
STARTING, READY, STOPPING, HALTED, DEAD = (
    WorkerStatus.STARTING,
    WorkerStatus.READY,
    WorkerStatus.STOPPING,
    WorkerStatus.HALTED,
    WorkerStatus.DEAD,
)


@dataclass
class Worker:
    """The controller's handle on one worker process: ``w<slot>`` or, for a replacement,
    ``w<slot>.<generation>``; ``outstanding`` is what it holds (its running test first)."""

    id: str
    slot: int
    gen: int
    env: dict[str, str]
    chan: Channel | None = None  # set with its hello (READY), and only then
    status: WorkerStatus = STARTING
    pid: int | None = None
    caps: dict[str, Any] = field(default_factory=dict)
    outstanding: deque[int] = field(default_factory=deque)
    running: int | None = None
    started_at: float = 0.0
    started_wall: float = 0.0
    requested_at: float = 0.0
    ready_at: float | None = None
    replacement: bool = False  # replaces a worker of its slot that died (a crash, a timeout)
    group: int = 0  # --collectors K: the collector that forks it; it runs only that one's tests
    eof_at: float | None = None
    finished_tests: int = 0
    timed_out: int | None = None
    killed_at: float | None = None  # when the controller killed it (its exit must follow)
    timeout_stacks: str = ""
    peak_rss_kb: int | None = None
    # What the controller told it about its queue (dispatch.py), apart from its status:
    flushed: bool = False  # told to run what it holds, its next item being unknown
    late_tail: int | None = None  # the last test sent in a "late" batch (see Dispatch._feed)
    unqueue_sent: bool = False  # asked to give back unstarted tests; its "returned" is due
    avg_duration: float | None = None  # moving average of this worker's recent tests
    pace: float | None = None  # wall seconds per test lately, the worker's own overhead included
    pace_mark: tuple[float, int] | None = None  # (when, finished_tests) where pace is measured from

    def observe_pace(self, now: float) -> None:
        """Once per loop round: the wall time per finished test over the worker's last
        PACE_TESTS tests. A tiny test's reports say 0.04 ms while the worker takes 0.3 ms
        per test (pytest's hooks, the messages): queues measured by the reports look seven
        times shorter than they are, and the loop, napping for half of that, goes round for
        every few results. A window in which the worker was seen with nothing queued is
        dropped (its wait is not its pace)."""
        mark = self.pace_mark
        if not self.outstanding or mark is None or self.finished_tests < mark[1]:
            self.pace_mark = (now, self.finished_tests) if self.outstanding else None
            return
        n = self.finished_tests - mark[1]
        if n >= PACE_TESTS:
            self.pace = (now - mark[0]) / n
            self.pace_mark = (now, self.finished_tests)


def nap_seconds(workers: Iterable[Worker]) -> float:
    """How long the loop may sleep before it reads messages: half the queued work of the
    worker with the least (by its recent test durations, or its pace when that is longer:
    :meth:`Worker.observe_pace`), at most NAP_MAX, and not at all
    while a worker is starting, stopping, new, or holds less than 2 * NAP_MIN. Reading
    results in batches a few milliseconds late saves a wake-up per test: with tests of a
    fraction of a millisecond, the controller and the workers otherwise take the CPU from
    each other after every test."""
    slack: float | None = None
    for w in workers:
        status = w.status
        if status is DEAD:
            continue
        if status is not READY or w.avg_duration is None:
            return 0.0
        per = w.avg_duration
        if w.pace is not None and w.pace > per:
            per = w.pace
        queued = (len(w.outstanding) - 1) * per
        slack = queued if slack is None else min(slack, queued)
    return 0.0 if slack is None or slack < 2 * NAP_MIN else min(NAP_MAX, slack / 2)
