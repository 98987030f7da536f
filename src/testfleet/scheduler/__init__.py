"""Schedulers decide which test a worker runs next. Pure logic; see protocol.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from testfleet.scheduler.constrained import ConstrainedScheduler, missing_capability
from testfleet.scheduler.deps import resolve
from testfleet.scheduler.grouped import GroupedScheduler
from testfleet.scheduler.load import LoadScheduler
from testfleet.scheduler.protocol import Groups, Scheduler, TestSpec, WorkerSpec

__all__ = [
    "ConstrainedScheduler",
    "GroupedScheduler",
    "LoadScheduler",
    "Scheduler",
    "TestSpec",
    "WorkerSpec",
    "build_scheduler",
]

FAILED_BEFORE = {"failed", "error", "crashed", "timeout"}


def build_scheduler(
    tests: Sequence[TestSpec],
    items: Sequence[dict[str, Any]],
    *,
    order: str,
    seed: int | None,
    history: Mapping[str, float],
    last_outcomes: Mapping[str, str],
    fleet: Sequence[WorkerSpec],
    partial_selection: bool,
    deadline: bool = False,
    done: Mapping[int, str] | None = None,
    groups: Groups = None,
) -> tuple[ConstrainedScheduler | GroupedScheduler, list[tuple[int, str, str]]]:
    """The scheduler for a run, and tests settled before any worker starts
    as ``(index, outcome, reason)``: unschedulable ones and unresolvable dependencies.
    ``groups`` (``--collectors K``): each test's group and the worker slots of each group;
    then one scheduler per group (:class:`GroupedScheduler`)."""
    deps, unresolved = resolve(tests, items, partial_selection=partial_selection)
    settled: list[tuple[int, str, str]] = [(i, "skipped", why) for i, why in unresolved]
    done = dict(done or {})
    gone = {i for i, _ in unresolved} | set(done)
    for t in tests:
        if t.index in gone or not (t.requires or t.tags):
            continue
        reasons = [missing_capability(t, w.capabilities, w.tags, len(fleet)) for w in fleet]
        if fleet and all(r is not None for r in reasons):
            settled.append((t.index, "unschedulable", f"no worker can run it: needs {reasons[0]}"))
            gone.add(t.index)
    rank = {}
    for t in tests:
        prev = last_outcomes.get(t.nodeid)
        rank[t.index] = 0 if prev in FAILED_BEFORE else 1 if t.nodeid not in history else 2
    runnable = [t for t in tests if t.index not in gone]
    deps = {i: d for i, d in deps.items() if i not in gone}
    effective = "value" if deadline else order
    names = {t.index: t.nodeid for t in tests}
    sched: ConstrainedScheduler | GroupedScheduler
    if groups is None:
        sched = ConstrainedScheduler(
            runnable, history, order=effective, seed=seed, rank=rank, deps=deps, names=names
        )
        sched.fleet = len(fleet)  # retries avoid their worker even before every worker is up
    else:
        of, fleets = groups
        parts = []
        for g in range(len(fleets)):
            mine = [t for t in runnable if of[t.index] == g]
            part = ConstrainedScheduler(
                mine,
                history,
                order=effective,
                seed=seed,
                rank=rank,
                deps={i: d for i, d in deps.items() if of[i] == g},
                names=names,
            )
            part.fleet = fleets[g]
            parts.append(part)
        sched = GroupedScheduler(parts, of)
    for index, outcome in done.items():  # --resume: settled by the earlier part of the run
        for waiting, reason in sched.finished(index, outcome):
            settled.append((waiting, "skipped", reason))
    return sched, settled
