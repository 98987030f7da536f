"""History-balanced load scheduling: longest work first, fixture scopes kept together, and
work stolen at the end of the run.

Algorithm
---------
1. **Units.** Consecutive tests (in collection order) that share a module- or class-scoped
   fixture form one *unit*: a worker that takes the unit runs its tests one after another,
   so the fixture is set up once. Every other test is a unit of its own.
2. **Estimates.** A test's estimate is its history (median duration from the store). A test
   with no history borrows from its parametrized siblings, then its class, then its module,
   then the median of all known tests. With no history at all every estimate is equal and
   the order stays the collection order.
3. **Longest first (LPT).** Units are handed out in order of decreasing estimated total
   duration; ties keep collection order. Other orders: ``collection``, ``failed-first``
   (tests that failed last time, then LPT), ``random`` (seeded shuffle of the units) and
   ``value`` (for ``--deadline``: failed last time first, then the shortest first).
4. **Pull, one test at a time.** A worker asking for work continues its current unit; when
   that is done it takes the next unit from the queue. Tests are handed out one by one, so
   the controller-side remainder of a unit can still move.
5. **Steal.** When the queue is empty, a worker asking for work takes the second half of the
   unit with the most estimated work left on another worker (if at least two tests remain),
   so no worker idles while another still has a queue.

Attributes: ``units`` (the queue, longest first), ``active`` (worker id -> the unit it is
working through), ``estimates`` (index -> seconds).
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

from testfleet.scheduler.protocol import TestSpec, WorkerSpec


def fill_estimates(tests: Sequence[TestSpec], history: Mapping[str, float]) -> dict[int, float]:
    """Estimate every test: its own history, else siblings, class, module, global median."""
    known = {t.index: history[t.nodeid] for t in tests if t.nodeid in history}
    if not known:
        return dict.fromkeys((t.index for t in tests), 1.0)
    by_key: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t in tests:
        if t.index in known:
            d = known[t.index]
            by_key[("sibling", f"{t.parent}::{t.name}")].append(d)
            by_key[("parent", t.parent)].append(d)
            by_key[("module", t.module)].append(d)
    medians = {key: statistics.median(vals) for key, vals in by_key.items()}
    fallback = statistics.median(known.values())
    out: dict[int, float] = {}
    for t in tests:
        if t.index in known:
            out[t.index] = known[t.index]
            continue
        for key in (("sibling", f"{t.parent}::{t.name}"), ("parent", t.parent), ("module", t.module)):
            m = medians.get(key)
            if m is not None:
                out[t.index] = m
                break
        else:
            out[t.index] = fallback
    return out


class Unit:
    __slots__ = ("tests", "order")

    def __init__(self, tests: list[int], order: int) -> None:
        self.tests: deque[int] = deque(tests)
        self.order = order


def build_units(tests: Sequence[TestSpec]) -> list[Unit]:
    units: list[Unit] = []
    current: list[int] = []
    current_key: str | None = None
    for t in tests:
        key = t.module if t.scope == "module" else t.parent if t.scope == "class" else None
        if key is not None and key == current_key:
            current.append(t.index)
            continue
        if current:
            units.append(Unit(current, len(units)))
        current, current_key = [t.index], key
    if current:
        units.append(Unit(current, len(units)))
    return units


class LoadScheduler:
    """See the module docstring for the algorithm."""

    def __init__(
        self,
        tests: Sequence[TestSpec],
        history: Mapping[str, float] | None = None,
        *,
        order: str = "duration",
        seed: int | None = None,
        rank: Mapping[int, int] | None = None,
        estimates: dict[int, float] | None = None,
    ) -> None:
        self.tests = {t.index: t for t in tests}
        self.estimates = estimates if estimates is not None else fill_estimates(tests, history or {})
        units = build_units(tests)
        if order == "duration":
            work = {id(u): self._work(u) for u in units}
            units.sort(key=lambda u: (-work[id(u)], u.order))
        elif order == "failed-first":
            units.sort(key=lambda u: (self._rank(u, rank), -self._work(u), u.order))
        elif order == "random":
            random.Random(seed).shuffle(units)
        elif order == "value":
            # --deadline: failed last time, then new, then the fastest first.
            units.sort(key=lambda u: (self._rank(u, rank), self._work(u), u.order))
        self.units: deque[Unit] = deque(units)
        self.active: dict[str, Unit] = {}
        self.workers: dict[str, WorkerSpec] = {}
        self._order = len(units)
        self._pending = len(self.tests)

    @staticmethod
    def _rank(unit: Unit, rank: Mapping[int, int] | None) -> int:
        return min((rank or {}).get(i, 9) for i in unit.tests)

    def _work(self, unit: Unit) -> float:
        return sum(self.estimates.get(i, 0.0) for i in unit.tests)

    # --- protocol ---
    def add_worker(self, worker: WorkerSpec) -> None:
        self.workers[worker.id] = worker

    def remove_worker(self, worker_id: str) -> None:
        self.workers.pop(worker_id, None)
        unit = self.active.pop(worker_id, None)
        if unit is not None and unit.tests:
            self.units.appendleft(unit)

    def next_for(self, worker_id: str) -> int | None:
        unit = self.active.get(worker_id)
        if unit is None or not unit.tests:
            unit = self._take_unit(worker_id)
            if unit is None:
                self.active.pop(worker_id, None)
                return None
            self.active[worker_id] = unit
        self._pending -= 1
        return unit.tests.popleft()

    def _take_unit(self, worker_id: str) -> Unit | None:
        if self.units:
            return self.units.popleft()
        # Steal the second half of the biggest remaining unit of another worker.
        victim: Unit | None = None
        best = -1.0
        for wid, unit in self.active.items():
            if wid == worker_id or len(unit.tests) < 2:
                continue
            work = self._work(unit)
            if work > best:
                victim, best = unit, work
        if victim is None:
            return None
        keep = len(victim.tests) // 2
        stolen = [victim.tests.pop() for _ in range(len(victim.tests) - keep)]
        stolen.reverse()
        self._order += 1
        return Unit(stolen, self._order)

    def started(self, worker_id: str, index: int) -> None:
        return None

    def finished(self, index: int, outcome: str) -> list[tuple[int, str]]:
        return []

    def done(self, worker_id: str, index: int) -> None:
        return None

    def requeue(self, indices: Sequence[int], avoid: str | None = None) -> None:
        for i in reversed(list(indices)):
            self._order += 1
            self._pending += 1
            self.units.appendleft(Unit([i], self._order))

    def pending(self) -> int:
        return self._pending

    def drain(self) -> list[int]:
        out = [i for u in self.units for i in u.tests]
        out += [i for u in self.active.values() for i in u.tests]
        self.units.clear()
        self.active.clear()
        self._pending = 0
        return out

    def missing_everywhere(self, index: int) -> str | None:
        return None if self.workers else "a worker (none is left)"

    def estimate(self, index: int) -> float:
        return self.estimates.get(index, 0.0)
