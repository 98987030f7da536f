"""Placement and ordering rules on top of the load scheduler.

Rules, checked each time a worker asks for work (``next_for``):

- **Placement.** ``requires={"gpu": 1, "memory_gb": 8}`` and ``tags=[...]`` must be met by
  the worker's capabilities (numbers: the worker has at least that much; tags: it has them
  all). ``requires={"cpus": k}`` occupies k worker slots: it starts only on an idle worker
  when k-1 other workers are idle too, and those stay reserved until it finishes.
- **After.** A test starts only after every test it names is final. If one did not pass,
  the test is skipped with a reason naming it (returned by ``finished``).
- **Exclusive.** Starts only when no test is outstanding anywhere; while it is outstanding
  nothing else is handed out.
- **Group.** Tests of one group are never outstanding on two workers at once.
- **Retry elsewhere.** A retried test avoids the worker it failed on while another worker
  exists.
- **Reservations.** ``requires={"gpu": n}`` (whole GPUs, or a share below 1),
  ``{"gpu_memory_gb": m}`` and ``{"memory_gb": m}`` are held from hand-out to the end of the
  attempt: a test starts only where what it needs is free (:mod:`testfleet.hardware.pool`),
  and only on an idle worker (never queued behind another test while it holds them; a busy
  worker it would fit on gets nothing more queued, so it drains and takes it); it runs with
  ``CUDA_VISIBLE_DEVICES`` naming exactly its GPUs (``env_for``).

Unconstrained tests take the fast path of :class:`LoadScheduler`. Constrained tests wait in
``special`` (sorted longest first); a worker takes the best eligible special test when its
estimate is at least that of the head of the normal queue.

Attributes: ``special`` (indices of constrained tests not handed out), ``busy`` (worker id
-> indices handed to it and not yet done), ``reserved`` (worker id -> index of the
multi-slot test it is reserved for), ``final`` (index -> outcome), ``reservations`` (GPUs
and memory held by handed-out tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from testfleet.hardware.pool import Reservations, needs_reservation
from testfleet.scheduler.load import LoadScheduler
from testfleet.scheduler.protocol import TestSpec, WorkerSpec

# As in pytest-dependency: a dependency is satisfied when it passed (an xpass passed too).
PASSING = {"passed", "xpassed"}


def is_constrained(t: TestSpec) -> bool:
    return bool(t.requires or t.tags or t.after or t.exclusive or t.group)


def missing_capability(t: TestSpec, caps: Mapping[str, Any], tags: frozenset[str], slots: int) -> str | None:
    """Why a worker with these capabilities can never run ``t`` (None if it can)."""
    for name, amount in t.requires.items():
        if name in ("cpus", "mpi"):  # worker slots; a worker without mpirun fails an mpi test saying so
            if amount > slots:
                return f"{name}={amount:g} needs {amount:g} worker slots; the fleet has {slots}"
            continue
        have = caps.get(name, 0)
        if isinstance(have, list):
            have = len(have)
        if not isinstance(have, int | float) or have < amount:
            return f"{name}={amount:g} (workers have {name}={have if have else 0})"
    missing = sorted(set(t.tags) - set(tags) - {k for k, v in caps.items() if v is True})
    if missing:
        return f"tag {missing[0]!r} (no worker advertises it; use --tag {missing[0]})"
    return None


class ConstrainedScheduler(LoadScheduler):
    """See the module docstring for the rules."""

    def __init__(
        self,
        tests: Sequence[TestSpec],
        history: Mapping[str, float] | None = None,
        *,
        order: str = "duration",
        seed: int | None = None,
        rank: Mapping[int, int] | None = None,
        deps: Mapping[int, Sequence[int]] | None = None,
        names: Mapping[int, str] | None = None,
    ) -> None:
        from testfleet.scheduler.load import fill_estimates

        # Estimates over all tests, so siblings inform constrained ones too.
        estimates = fill_estimates(tests, history or {})
        plain = [t for t in tests if not is_constrained(t) and t.index not in (deps or {})]
        super().__init__(plain, history, order=order, seed=seed, rank=rank, estimates=estimates)
        self.tests = {t.index: t for t in tests}
        self.names = dict(names or {}) | {t.index: t.nodeid for t in tests}
        self.estimates = estimates
        self.deps: dict[int, list[int]] = {i: list(d) for i, d in (deps or {}).items()}
        special = [t.index for t in tests if is_constrained(t) or t.index in self.deps]
        r = rank or {}
        if order in ("duration", "failed-first"):
            special.sort(
                key=lambda i: (r.get(i, 9) if order == "failed-first" else 0, -self.estimates.get(i, 0.0), i)
            )
        elif order == "value":
            special.sort(key=lambda i: (r.get(i, 9), self.estimates.get(i, 0.0), i))
        elif order == "random":
            import random

            random.Random(seed).shuffle(special)
        self.special: list[int] = special
        self.busy: dict[str, set[int]] = {}
        self.reserved: dict[str, int] = {}
        self.final: dict[int, str] = {}
        self.avoid: dict[int, str] = {}
        self.fleet = 0  # worker slots of the run (set by build_scheduler): a dead one's is refilled
        self._where: dict[int, str] = {}
        self._exclusive_out: set[int] = set()  # exclusive tests handed out and not yet done
        self.reservations = Reservations()

    # --- bookkeeping ---
    def add_worker(self, worker: WorkerSpec) -> None:
        super().add_worker(worker)
        self.busy.setdefault(worker.id, set())

    def remove_worker(self, worker_id: str) -> None:
        super().remove_worker(worker_id)
        for idx in self.busy.pop(worker_id, set()):
            self.reservations.release(idx)
            self._where.pop(idx, None)
            self._exclusive_out.discard(idx)
        self.reserved = {w: i for w, i in self.reserved.items() if w != worker_id and self._where.get(i)}

    def done(self, worker_id: str, index: int) -> None:
        """An attempt of ``index`` ended on ``worker_id`` (final or not)."""
        self.busy.get(worker_id, set()).discard(index)
        self.reservations.release(index)
        self._where.pop(index, None)
        self._exclusive_out.discard(index)
        self.reserved = {w: i for w, i in self.reserved.items() if i != index}

    def requeue(self, indices: Sequence[int], avoid: str | None = None) -> None:
        plain = []
        for i in indices:
            for busy in self.busy.values():
                busy.discard(i)
            self._where.pop(i, None)
            self.reservations.release(i)
            self._exclusive_out.discard(i)
            self.reserved = {w: r for w, r in self.reserved.items() if r != i}
            if avoid is not None and max(self.fleet, len(self.workers)) > 1:
                self.avoid[i] = avoid
            if is_constrained(self.tests[i]) or i in self.deps or i in self.avoid:
                self.special.insert(0, i)
            else:
                plain.append(i)
        if plain:
            super().requeue(plain)

    def pending(self) -> int:
        return super().pending() + len(self.special)

    def drain(self) -> list[int]:
        out = super().drain() + self.special
        self.special = []
        return out

    def finished(self, index: int, outcome: str) -> list[tuple[int, str]]:
        """Record a final outcome; skip every waiting test whose dependency did not pass."""
        self.final[index] = outcome
        skipped: list[tuple[int, str]] = []
        frontier = [(index, outcome)]
        while frontier:
            dep, dep_outcome = frontier.pop()
            if dep_outcome in PASSING:
                continue
            for waiting in list(self.special):
                if dep in self.deps.get(waiting, ()):
                    self.special.remove(waiting)
                    reason = f"depends on {self.names.get(dep, dep)}, which ended {dep_outcome}"
                    self.final[waiting] = "skipped"
                    skipped.append((waiting, reason))
                    frontier.append((waiting, "skipped"))
        return skipped

    def missing_everywhere(self, index: int) -> str | None:
        """Why none of the current workers can ever run ``index`` (None if one can): e.g.
        after the only node with a resource was lost."""
        t = self.tests[index]
        if not self.workers:
            return "a worker (none is left)"
        reasons = [
            missing_capability(t, w.capabilities, w.tags, len(self.workers)) for w in self.workers.values()
        ]
        return reasons[0] if all(r is not None for r in reasons) else None

    # --- choosing ---
    def _idle(self, worker_id: str) -> bool:
        return not self.busy.get(worker_id) and worker_id not in self.reserved

    def _eligible(self, worker_id: str, idx: int, *, as_idle: bool = False) -> bool:
        """Whether ``worker_id`` may take ``idx`` now (``as_idle``: were its queue empty)."""
        t = self.tests[idx]
        if self.avoid.get(idx) == worker_id and max(self.fleet, len(self.workers)) > 1:
            return False
        w = self.workers.get(worker_id)
        if w is None:
            return False
        if missing_capability(t, w.capabilities, w.tags, len(self.workers)) is not None:
            return False
        if any(d not in self.final for d in self.deps.get(idx, ())):
            return False
        if t.exclusive and any(self.busy.values()):
            return False
        if t.group is not None:
            for other, busy in self.busy.items():
                if other != worker_id and any(self.tests[i].group == t.group for i in busy):
                    return False
        if t.slots > 1:
            if not self._idle(worker_id):
                return False
            idle_others = [o for o in self.workers if o != worker_id and self._idle(o)]
            if len(idle_others) < t.slots - 1:
                return False
        if not needs_reservation(t.requires):
            return True
        # Held from hand-out: only an idle worker takes it, so it never waits in a queue
        # behind another test while holding a GPU or memory.
        idle = as_idle or not self.busy.get(worker_id)
        return idle and self.reservations.place(t.requires, w.capabilities) is not None

    def _draining_for(self, worker_id: str, head: int) -> bool:
        """A reserving test that fits on this worker once its queue is empty, and comes
        before ``head``: queue nothing more, so the worker drains and takes it."""
        if not self.busy.get(worker_id):
            return False
        floor = self.estimates.get(head, 0.0)
        return any(
            needs_reservation(self.tests[i].requires)
            and self.estimates.get(i, 0.0) >= floor
            and self._eligible(worker_id, i, as_idle=True)
            for i in self.special
        )

    def _blocked(self, worker_id: str) -> bool:
        if worker_id in self.reserved:
            return True
        # While an exclusive test is outstanding, nobody gets anything.
        return bool(self._exclusive_out)

    def next_for(self, worker_id: str) -> int | None:
        if self._blocked(worker_id):
            return None
        best = next((i for i in self.special if self._eligible(worker_id, i)), None)
        head = self._peek_plain(worker_id)
        if best is not None and (
            head is None or self.estimates.get(best, 0.0) >= self.estimates.get(head, 0.0)
        ):
            self.special.remove(best)
            t = self.tests[best]
            if t.slots > 1:
                for other in [o for o in self.workers if o != worker_id and self._idle(o)][: t.slots - 1]:
                    self.reserved[other] = best
            self.avoid.pop(best, None)
            if needs_reservation(t.requires):
                held = self.reservations.place(t.requires, self.workers[worker_id].capabilities)
                assert held is not None  # _eligible placed it a moment ago
                self.reservations.hold(best, held)
            return self._hand_out(worker_id, best)
        if head is None or (best is None and self._draining_for(worker_id, head)):
            return None
        idx = super().next_for(worker_id)
        return None if idx is None else self._hand_out(worker_id, idx)

    def env_for(self, index: int) -> dict[str, str] | None:
        """The environment a handed-out test must run with (its GPUs), or None."""
        return self.reservations.env(index)

    def _peek_plain(self, worker_id: str) -> int | None:
        unit = self.active.get(worker_id)
        if unit is not None and unit.tests:
            return unit.tests[0]
        if self.units:
            return self.units[0].tests[0]
        # Only the part of another worker's unit that could be stolen counts.
        for wid, other in self.active.items():
            if wid != worker_id and len(other.tests) >= 2:
                return other.tests[len(other.tests) // 2]
        return None

    def _hand_out(self, worker_id: str, idx: int) -> int:
        self.busy.setdefault(worker_id, set()).add(idx)
        self._where[idx] = worker_id
        if self.tests[idx].exclusive:
            self._exclusive_out.add(idx)
        return idx
