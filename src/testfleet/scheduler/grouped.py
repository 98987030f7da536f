"""Scheduling for parallel collection (``--collectors K``): one scheduler per collector.

Algorithm
---------
A worker is forked by one collector and holds only that collector's items, so it can run
only the tests of its *group* (the files its collector collected). The run's tests are
partitioned by group, and each group gets its own
:class:`~testfleet.scheduler.constrained.ConstrainedScheduler` over its tests and its
workers: units, estimates, longest first, stealing (between the workers of one group),
retries elsewhere (on another worker of the group) and placement all work as with one
collector, inside the group. Every call is routed by the worker's group (``next_for``,
``add_worker``, ``remove_worker``) or the test's (``started``, ``done``, ``requeue``), one
lookup; a test's final outcome also goes to the groups whose tests wait for it
(``after=``/``dependency`` across files), and all groups share one book of GPU and memory
reservations, since their workers share the machine.

What stays per group: ``exclusive`` (nothing else runs in its group), ``cpus=k`` (k workers
of its group), and the balance: a group's workers never take another group's tests, so how
evenly the run ends rests on the file split (:mod:`testfleet.split`).

Attributes: ``parts`` (group -> its scheduler), ``group_of`` (index -> group),
``worker_group`` (worker id -> group), ``estimates`` (index -> seconds, every group's).
"""

from __future__ import annotations

from collections.abc import Sequence

from testfleet.hardware.pool import Reservations
from testfleet.scheduler.constrained import ConstrainedScheduler
from testfleet.scheduler.protocol import WorkerSpec

GROUP_CAP = "collector"  # a worker's capability: the group (collector) that forked it


class _Avoid:
    """Every group's ``avoid`` (retries that prefer another worker), as the loop clears it."""

    def __init__(self, parts: Sequence[ConstrainedScheduler]) -> None:
        self.parts = parts

    def __bool__(self) -> bool:
        return any(p.avoid for p in self.parts)

    def clear(self) -> None:
        for p in self.parts:
            p.avoid.clear()


class GroupedScheduler:
    """See the module docstring for the algorithm."""

    def __init__(self, parts: Sequence[ConstrainedScheduler], group_of: Sequence[int]) -> None:
        self.parts = list(parts)
        self.group_of = group_of
        self.worker_group: dict[str, int] = {}
        self.estimates: dict[int, float] = {}
        self.reservations = Reservations()
        for p in self.parts:
            self.estimates.update(p.estimates)
            p.reservations = self.reservations
        # Groups with tests that wait for others' outcomes (they hear of every final outcome).
        self.waiting = [p for p in self.parts if p.deps]
        self.avoid = _Avoid(self.parts)

    def add_worker(self, worker: WorkerSpec) -> None:
        g = int(worker.capabilities.get(GROUP_CAP, 0))
        self.worker_group[worker.id] = g
        self.parts[g].add_worker(worker)

    def remove_worker(self, worker_id: str) -> None:
        g = self.worker_group.pop(worker_id, None)
        if g is not None:
            self.parts[g].remove_worker(worker_id)

    def next_for(self, worker_id: str) -> int | None:
        return self.parts[self.worker_group[worker_id]].next_for(worker_id)

    def started(self, worker_id: str, index: int) -> None:
        self.parts[self.group_of[index]].started(worker_id, index)

    def finished(self, index: int, outcome: str) -> list[tuple[int, str]]:
        own = self.parts[self.group_of[index]]
        skipped = own.finished(index, outcome)
        for p in self.waiting:
            if p is not own:
                skipped += p.finished(index, outcome)
        return skipped

    def done(self, worker_id: str, index: int) -> None:
        self.parts[self.group_of[index]].done(worker_id, index)

    def requeue(self, indices: Sequence[int], avoid: str | None = None) -> None:
        by_group: dict[int, list[int]] = {}
        for i in indices:
            by_group.setdefault(self.group_of[i], []).append(i)
        for g, some in by_group.items():
            self.parts[g].requeue(some, avoid)

    def pending(self) -> int:
        return sum(p.pending() for p in self.parts)

    def pending_in(self, group: int) -> int:
        return self.parts[group].pending()

    def drain(self) -> list[int]:
        return [i for p in self.parts for i in p.drain()]

    def drain_group(self, group: int) -> list[int]:
        """Remove and return the tests of ``group`` not handed out (its collector is gone)."""
        return self.parts[group].drain()

    def missing_everywhere(self, index: int) -> str | None:
        return self.parts[self.group_of[index]].missing_everywhere(index)

    def env_for(self, index: int) -> dict[str, str] | None:
        return self.reservations.env(index)

    def estimate(self, index: int) -> float:
        return self.estimates.get(index, 0.0)
