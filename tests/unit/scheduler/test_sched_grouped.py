"""GroupedScheduler (--collectors K): a worker only ever gets its group's tests, steals only
within its group, and retries stay in their group."""

from __future__ import annotations

from typing import Any

from testfleet.scheduler import build_scheduler, protocol
from testfleet.scheduler.grouped import GROUP_CAP, GroupedScheduler


def specs(n: int, per_module: int = 4) -> list[protocol.TestSpec]:
    out = []
    for i in range(n):
        module = f"m{i // per_module}.py"
        out.append(
            protocol.TestSpec(
                index=i, nodeid=f"{module}::test_{i}", module=module, parent=module, name=f"test_{i}"
            )
        )
    return out


def grouped(n: int, groups: list[int], fleets: list[int], **kw: Any) -> GroupedScheduler:
    tests = specs(n)
    sched, settled = build_scheduler(
        tests,
        [{"nodeid": t.nodeid} for t in tests],
        order=kw.pop("order", "collection"),
        seed=None,
        history=kw.pop("history", {}),
        last_outcomes={},
        fleet=[protocol.WorkerSpec(f"w{s}") for s in range(sum(fleets))],
        partial_selection=False,
        groups=(groups, fleets),
        **kw,
    )
    assert settled == []
    assert isinstance(sched, GroupedScheduler)
    return sched


def add(sched: GroupedScheduler, wid: str, group: int) -> None:
    sched.add_worker(protocol.WorkerSpec(wid, {GROUP_CAP: group}))


def test_a_worker_gets_only_its_groups_tests_and_every_test_once() -> None:
    groups = [0] * 4 + [1] * 4 + [0] * 4 + [1] * 4  # modules m0, m2 in group 0; m1, m3 in group 1
    sched = grouped(16, groups, [2, 1])
    add(sched, "w0", 0)
    add(sched, "w1", 1)
    add(sched, "w2", 0)
    got: dict[str, list[int]] = {"w0": [], "w1": [], "w2": []}
    progress = True
    while progress:
        progress = False
        for wid in got:
            idx = sched.next_for(wid)
            if idx is not None:
                got[wid].append(idx)
                progress = True
    for wid, group in (("w0", 0), ("w1", 1), ("w2", 0)):
        assert got[wid] and all(groups[i] == group for i in got[wid]), (wid, got[wid])
    assert sorted(i for taken in got.values() for i in taken) == list(range(16))
    assert sched.pending() == 0


def test_an_idle_worker_steals_only_within_its_group() -> None:
    groups = [0] * 8 + [1] * 8  # one module-sized unit per group with --order collection
    sched = grouped(16, groups, [2, 1])
    add(sched, "w0", 0)
    add(sched, "w1", 1)
    add(sched, "w2", 0)
    first = sched.next_for("w1")  # group 1's worker starts on its unit...
    assert first is not None and groups[first] == 1
    assert sched.next_for("w0") is not None  # ... group 0's first worker on the other
    # Group 0's second worker: no unit left in its queue, so it steals, and only from w0
    # (w1's unit is bigger, and of the other group).
    stolen = [i for i in iter(lambda: sched.next_for("w2"), None)]
    assert stolen and all(groups[i] == 0 for i in stolen), stolen
    assert sched.pending_in(1) == 7


def test_retries_and_requeued_tests_stay_in_their_group() -> None:
    groups = [0, 0, 1, 1]
    sched = grouped(4, groups, [2, 2], order="collection")
    for wid, g in (("w0", 0), ("w1", 1), ("w2", 0), ("w3", 1)):
        add(sched, wid, g)
    i = sched.next_for("w1")
    assert i is not None and groups[i] == 1
    sched.done("w1", i)
    sched.requeue([i], avoid="w1")  # a failed attempt, retried elsewhere
    assert sched.next_for("w0") in (0, 1)
    assert sched.next_for("w2") in (0, 1)
    assert sched.next_for("w0") is None  # group 0 has nothing more; the retry is group 1's
    again = sched.next_for("w3")
    assert again == i  # another worker of its group
    assert sched.next_for("w1") not in (i, 0, 1)


def test_a_dependency_in_another_group_holds_and_skips_across_groups() -> None:
    tests = specs(4, per_module=2)
    tests[3] = protocol.TestSpec(
        index=3,
        nodeid=tests[3].nodeid,
        module=tests[3].module,
        parent=tests[3].parent,
        name="test_3",
        after=(tests[0].nodeid,),
    )
    sched, _ = build_scheduler(
        tests,
        [{"nodeid": t.nodeid} for t in tests],
        order="collection",
        seed=None,
        history={},
        last_outcomes={},
        fleet=[protocol.WorkerSpec("w0"), protocol.WorkerSpec("w1")],
        partial_selection=False,
        groups=([0, 0, 1, 1], [1, 1]),
    )
    assert isinstance(sched, GroupedScheduler)
    add(sched, "w0", 0)
    add(sched, "w1", 1)
    assert sched.next_for("w1") == 2
    assert sched.next_for("w1") is None  # test_3 waits for test_0, in group 0
    assert sched.next_for("w0") == 0
    assert sched.finished(0, "failed") == [(3, f"depends on {tests[0].nodeid}, which ended failed")]
    assert sched.pending() == 1  # test_1; test_3 was skipped
