"""ConstrainedScheduler: placement, multi-slot reservations, exclusive, groups, dependencies,
retry placement and bookkeeping; and missing_capability's messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from testfleet.scheduler import protocol
from testfleet.scheduler.constrained import ConstrainedScheduler, missing_capability


def spec(i: int, **kw: Any) -> protocol.TestSpec:
    name = kw.pop("name", f"test_{i}")
    return protocol.TestSpec(index=i, nodeid=f"m.py::{name}", module="m.py", parent="m.py", name=name, **kw)


def worker(
    wid: str, caps: Mapping[str, Any] | None = None, tags: tuple[str, ...] = ()
) -> protocol.WorkerSpec:
    return protocol.WorkerSpec(wid, dict(caps or {}), frozenset(tags))


def make(tests: list[protocol.TestSpec], *workers: protocol.WorkerSpec, **kw: Any) -> ConstrainedScheduler:
    sched = ConstrainedScheduler(tests, **kw)
    for w in workers or (worker("w0"), worker("w1")):
        sched.add_worker(w)
    return sched


def run_to_end(
    sched: ConstrainedScheduler, wid: str, index: int, outcome: str = "passed"
) -> list[tuple[int, str]]:
    sched.done(wid, index)
    return sched.finished(index, outcome)


# --------------------------------------------------------------------------- missing_capability


def test_missing_capability_none_when_everything_is_met() -> None:
    t = spec(0, requires={"gpu": 1.0, "memory_gb": 8.0}, tags=frozenset({"browser"}))
    assert missing_capability(t, {"gpu": 2, "memory_gb": 16}, frozenset({"browser"}), 1) is None


def test_missing_capability_names_the_number_workers_have() -> None:
    t = spec(0, requires={"memory_gb": 8.0})
    assert missing_capability(t, {"memory_gb": 4}, frozenset(), 1) == "memory_gb=8 (workers have memory_gb=4)"
    assert (
        missing_capability(spec(1, requires={"gpu": 1.0}), {}, frozenset(), 1) == "gpu=1 (workers have gpu=0)"
    )


def test_missing_capability_counts_a_list_capability() -> None:
    t = spec(0, requires={"gpu": 2.0})
    assert missing_capability(t, {"gpu": ["cuda:0", "cuda:1"]}, frozenset(), 1) is None
    assert missing_capability(t, {"gpu": ["cuda:0"]}, frozenset(), 1) == "gpu=2 (workers have gpu=1)"


def test_missing_capability_rejects_a_non_numeric_capability() -> None:
    t = spec(0, requires={"gpu": 1.0})
    assert missing_capability(t, {"gpu": "yes"}, frozenset(), 1) == "gpu=1 (workers have gpu=yes)"


def test_missing_capability_cpus_is_checked_against_fleet_slots() -> None:
    t = spec(0, requires={"cpus": 4.0})
    assert missing_capability(t, {}, frozenset(), 4) is None
    assert missing_capability(t, {}, frozenset(), 2) == "cpus=4 needs 4 worker slots; the fleet has 2"


def test_missing_capability_tags_from_tags_or_true_capabilities() -> None:
    t = spec(0, tags=frozenset({"zeta", "alpha"}))
    assert missing_capability(t, {}, frozenset({"zeta"}), 1) == (
        "tag 'alpha' (no worker advertises it; use --tag alpha)"
    )
    assert (
        missing_capability(t, {}, frozenset(), 1) == "tag 'alpha' (no worker advertises it; use --tag alpha)"
    )
    assert missing_capability(t, {"alpha": True}, frozenset({"zeta"}), 1) is None
    assert missing_capability(t, {"alpha": 1}, frozenset({"zeta"}), 1) is not None  # only True counts


# --------------------------------------------------------------------------- placement


def test_worker_lacking_a_tag_never_gets_the_tagged_test() -> None:
    sched = make([spec(0, tags=frozenset({"browser"}))], worker("w0"), worker("w1", tags=("browser",)))
    assert sched.next_for("w0") is None
    assert sched.next_for("w1") == 0


def test_worker_lacking_a_requirement_gets_plain_work_instead() -> None:
    sched = make([spec(0, requires={"gpu": 1.0}), spec(1)], worker("w0"), worker("w1", {"gpu": 1}))
    assert sched.next_for("w0") == 1
    assert sched.next_for("w0") is None
    assert sched.pending() == 1
    assert sched.next_for("w1") == 0


def test_constrained_test_goes_first_when_at_least_as_long_as_the_queue_head() -> None:
    tests = [spec(0), spec(1, group="g")]
    sched = make(tests, worker("w0"), history={"m.py::test_0": 2.0, "m.py::test_1": 2.0})
    assert [sched.next_for("w0"), sched.next_for("w0")] == [1, 0]


def test_shorter_constrained_test_waits_behind_a_longer_plain_test() -> None:
    tests = [spec(0), spec(1, group="g")]
    sched = make(tests, worker("w0"), history={"m.py::test_0": 5.0, "m.py::test_1": 2.0})
    assert [sched.next_for("w0"), sched.next_for("w0")] == [0, 1]


def test_special_tests_are_sorted_longest_first() -> None:
    tests = [spec(i, group=f"g{i}") for i in range(3)]
    sched = make(tests, worker("w0"), history={"m.py::test_0": 1.0, "m.py::test_1": 3.0, "m.py::test_2": 2.0})
    assert sched.special == [1, 2, 0]


def test_special_tests_failed_first_order_uses_rank() -> None:
    tests = [spec(i, group=f"g{i}") for i in range(3)]
    sched = make(
        tests,
        worker("w0"),
        order="failed-first",
        rank={0: 0, 1: 2, 2: 1},
        history={"m.py::test_0": 1.0, "m.py::test_1": 3.0, "m.py::test_2": 2.0},
    )
    assert sched.special == [0, 2, 1]


# --------------------------------------------------------------------------- cpus


def test_two_cpu_test_reserves_another_idle_worker_until_done() -> None:
    tests = [spec(0, requires={"cpus": 2.0}), spec(1), spec(2)]
    sched = make(tests, worker("w0"), worker("w1"), worker("w2"))
    assert sched.next_for("w0") == 0
    assert sched.reserved == {"w1": 0}
    assert sched.next_for("w1") is None  # reserved
    assert sched.next_for("w2") == 1
    run_to_end(sched, "w0", 0)
    assert sched.reserved == {}
    assert sched.next_for("w1") == 2


def test_two_cpu_test_waits_while_no_other_worker_is_idle() -> None:
    sched = make(
        [spec(0), spec(1, requires={"cpus": 2.0})], history={"m.py::test_0": 9.0, "m.py::test_1": 1.0}
    )
    assert sched.next_for("w0") == 0  # the plain test is longer; w0 is busy now
    assert sched.next_for("w1") is None  # cpus=2 cannot start: w0 is not idle
    assert sched.special == [1]
    run_to_end(sched, "w0", 0)
    assert sched.next_for("w1") == 1
    assert sched.reserved == {"w0": 1}


def test_cpus_beyond_the_fleet_are_never_handed_out() -> None:
    sched = make([spec(0, requires={"cpus": 3.0})])
    assert sched.next_for("w0") is None
    assert sched.next_for("w1") is None
    assert sched.pending() == 1


# --------------------------------------------------------------------------- exclusive and group


def test_exclusive_waits_for_an_idle_fleet_then_blocks_everyone() -> None:
    tests = [spec(0), spec(1, exclusive=True), spec(2), spec(3)]
    sched = make(
        tests, history={"m.py::test_0": 5.0, "m.py::test_1": 1.0, "m.py::test_2": 1.0, "m.py::test_3": 1.0}
    )
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 2  # exclusive not eligible: w0 is busy
    run_to_end(sched, "w1", 2)
    assert sched.next_for("w1") == 3
    run_to_end(sched, "w0", 0)
    run_to_end(sched, "w1", 3)
    assert sched.next_for("w0") == 1
    assert sched.next_for("w1") is None  # nothing while the exclusive test is outstanding


def test_nothing_is_handed_out_while_an_exclusive_test_runs() -> None:
    tests = [spec(0, exclusive=True), spec(1), spec(2)]
    sched = make(tests)
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") is None
    assert sched.next_for("w1") is None
    assert sched.pending() == 2
    run_to_end(sched, "w0", 0)
    assert sched.next_for("w1") == 1


def test_group_is_never_busy_on_two_workers() -> None:
    tests = [spec(0, group="db"), spec(1, group="db"), spec(2)]
    sched = make(tests)
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 2  # not 1: group db is busy on w0
    run_to_end(sched, "w1", 2)
    assert sched.next_for("w1") is None
    run_to_end(sched, "w0", 0)
    assert sched.next_for("w1") == 1


def test_group_tests_may_follow_each_other_on_the_same_worker() -> None:
    sched = make([spec(0, group="db"), spec(1, group="db")])
    assert sched.next_for("w0") == 0
    run_to_end(sched, "w0", 0)
    assert sched.next_for("w0") == 1


# --------------------------------------------------------------------------- after


def test_dependent_waits_until_its_dependency_is_final() -> None:
    sched = make([spec(0), spec(1)], deps={1: [0]})
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") is None
    sched.done("w0", 0)
    assert sched.next_for("w1") is None  # done is not final (a retry may follow)
    assert sched.finished(0, "passed") == []
    assert sched.next_for("w1") == 1


def test_dependent_of_an_xfailed_test_is_skipped_and_of_an_xpassed_one_runs() -> None:
    # pytest-dependency's rule: only a dependency that passed (an xpass passed) is satisfied.
    sched = make([spec(0), spec(1)], deps={1: [0]})
    assert sched.next_for("w0") == 0
    assert [i for i, _ in run_to_end(sched, "w0", 0, "xfailed")] == [1]
    sched = make([spec(0), spec(1)], deps={1: [0]})
    assert sched.next_for("w0") == 0
    assert run_to_end(sched, "w0", 0, "xpassed") == []
    assert sched.next_for("w0") == 1


def test_failed_dependency_skips_dependents_transitively() -> None:
    tests = [spec(0, name="test_a"), spec(1, name="test_b"), spec(2, name="test_c"), spec(3, name="test_d")]
    sched = make(tests, deps={1: [0], 2: [1], 3: [0]})
    assert sched.pending() == 4
    assert sched.next_for("w0") == 0
    skipped = run_to_end(sched, "w0", 0, "failed")
    assert sorted(skipped) == [
        (1, "depends on m.py::test_a, which ended failed"),
        (2, "depends on m.py::test_b, which ended skipped"),
        (3, "depends on m.py::test_a, which ended failed"),
    ]
    assert sched.final == {0: "failed", 1: "skipped", 2: "skipped", 3: "skipped"}
    assert sched.pending() == 0
    assert sched.next_for("w1") is None


def test_skip_reason_uses_the_names_mapping_for_tests_outside_the_scheduler() -> None:
    sched = make([spec(1)], deps={1: [0]}, names={0: "other.py::test_setup"})
    assert sched.finished(0, "crashed") == [(1, "depends on other.py::test_setup, which ended crashed")]


def test_passing_dependency_skips_nothing() -> None:
    sched = make([spec(0), spec(1), spec(2)], deps={1: [0], 2: [0, 1]})
    sched.next_for("w0")
    assert run_to_end(sched, "w0", 0) == []
    assert sched.next_for("w0") == 1
    assert sched.next_for("w1") is None  # 2 still waits for 1
    assert run_to_end(sched, "w0", 1) == []
    assert sched.next_for("w1") == 2


# --------------------------------------------------------------------------- retries


def test_requeued_test_avoids_the_worker_it_failed_on() -> None:
    sched = make([spec(0), spec(1)], order="collection")
    assert sched.next_for("w0") == 0
    sched.requeue([0], avoid="w0")
    assert sched.avoid == {0: "w0"}
    assert sched.next_for("w0") == 1
    assert sched.next_for("w0") is None
    assert sched.next_for("w1") == 0
    assert sched.avoid == {}


def test_requeued_test_returns_to_the_only_worker() -> None:
    sched = make([spec(0)], worker("w0"))
    assert sched.next_for("w0") == 0
    sched.requeue([0], avoid="w0")
    assert sched.avoid == {}
    assert sched.next_for("w0") == 0


def test_avoid_lapses_when_the_other_worker_leaves() -> None:
    sched = make([spec(0)])
    assert sched.next_for("w0") == 0
    sched.requeue([0], avoid="w0")
    assert sched.next_for("w0") is None
    sched.remove_worker("w1")
    assert sched.next_for("w0") == 0


def test_requeue_clears_busy_and_puts_constrained_tests_first() -> None:
    sched = make([spec(0, group="g"), spec(1, group="h")])
    assert sched.next_for("w0") == 0
    sched.requeue([0])
    assert sched.busy == {"w0": set(), "w1": set()}
    assert sched.special == [0, 1]
    assert sched.pending() == 2


# --------------------------------------------------------------------------- bookkeeping


def test_done_clears_busy_where_and_reservations() -> None:
    sched = make([spec(0, requires={"cpus": 2.0})])
    assert sched.next_for("w1") == 0
    assert sched.busy == {"w0": set(), "w1": {0}}
    assert sched.reserved == {"w0": 0}
    sched.done("w1", 0)
    assert sched.busy == {"w0": set(), "w1": set()}
    assert sched.reserved == {}
    assert sched._where == {}


def test_removing_the_worker_of_a_two_slot_test_frees_its_reservation() -> None:
    sched = make([spec(0, requires={"cpus": 2.0}), spec(1)])
    assert sched.next_for("w0") == 0
    sched.remove_worker("w0")
    assert sched.reserved == {}
    assert "w0" not in sched.busy
    assert sched.next_for("w1") == 1


def test_pending_and_drain_cover_plain_and_constrained_tests() -> None:
    sched = make([spec(0), spec(1, group="g"), spec(2), spec(3, tags=frozenset({"x"}))], order="collection")
    assert sched.pending() == 4
    assert sched.next_for("w0") == 1
    assert sched.pending() == 3
    assert sorted(sched.drain()) == [0, 2, 3]
    assert sched.pending() == 0
    assert sched.next_for("w1") is None


def test_idle_worker_takes_an_eligible_constrained_test_rather_than_idling() -> None:
    tests = [spec(0, scope="module"), spec(1, scope="module"), spec(2, group="g")]
    sched = make(tests, history={"m.py::test_0": 10.0, "m.py::test_1": 10.0, "m.py::test_2": 1.0})
    assert sched.next_for("w0") == 0  # the unit [0, 1] is longer than test 2
    assert sched.next_for("w1") == 2


# --------------------------------------------------------------------------- reservations (GPUs, memory)

ONE_GPU = {
    "host": "h",
    "gpu": 1,
    "gpus": [{"index": 0, "memory_gb": 80.0}],
    "gpu_visible": [0],
    "gpu_isolation": "shared",
    "gpu_memory_gb": 80.0,
    "host_memory_gb": 23.0,
    "memory_gb": 23.0,
}


def gpu_fleet(n: int, caps: Mapping[str, Any] = ONE_GPU) -> list[protocol.WorkerSpec]:
    return [worker(f"w{i}", caps) for i in range(n)]


def test_two_gpu_tests_never_hold_one_gpu_at_once_and_get_its_cuda_devices() -> None:
    sched = make(
        [spec(0, requires={"gpu": 1.0}), spec(1, requires={"gpu": 1.0}), spec(2)],
        *gpu_fleet(3),
        order="collection",
    )
    assert sched.next_for("w0") == 0
    assert sched.env_for(0) == {"CUDA_VISIBLE_DEVICES": "0"}
    assert sched.next_for("w1") == 2  # the GPU is held: the plain test instead
    assert sched.next_for("w2") is None
    sched.done("w0", 0)
    assert sched.env_for(0) is None
    assert sched.next_for("w2") == 1
    assert sched.env_for(1) == {"CUDA_VISIBLE_DEVICES": "0"}


def test_fractional_gpu_tests_share_a_device() -> None:
    sched = make([spec(i, requires={"gpu": 0.5}) for i in range(3)], *gpu_fleet(3), order="collection")
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 1
    assert sched.next_for("w2") is None
    sched.done("w1", 1)
    assert sched.next_for("w2") == 2


def test_gpu_memory_requirement_waits_for_free_gpu_memory() -> None:
    sched = make(
        [
            spec(0, requires={"gpu_memory_gb": 50.0}),
            spec(1, requires={"gpu_memory_gb": 40.0}),
            spec(2, requires={"gpu_memory_gb": 30.0}),
        ],
        *gpu_fleet(3),
        order="collection",
    )
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 2  # 30 GB still fit beside 50 on the 80 GB GPU; 40 do not
    sched.done("w0", 0)
    assert sched.next_for("w0") == 1


def test_three_20gb_tests_on_a_23gb_host_run_one_at_a_time() -> None:
    tests = [spec(i, requires={"memory_gb": 20.0}) for i in range(3)] + [spec(3, requires={"memory_gb": 2.0})]
    sched = make(tests, *gpu_fleet(3), order="collection")
    assert sched.next_for("w0") == 0
    assert sched.next_for("w0") is None  # never queued behind the running test while holding memory
    assert sched.next_for("w1") == 3  # 2 GB fit beside 20
    assert sched.next_for("w2") is None
    sched.done("w0", 0)
    assert sched.next_for("w2") == 1
    assert sched.next_for("w0") is None


def test_reservations_are_freed_by_requeue_and_by_a_lost_worker() -> None:
    sched = make(
        [spec(0, requires={"gpu": 1.0}), spec(1, requires={"gpu": 1.0})], *gpu_fleet(2), order="collection"
    )
    assert sched.next_for("w0") == 0
    sched.requeue([0])
    assert sched.next_for("w1") == 0
    sched.remove_worker("w1")
    assert sched.next_for("w0") in (0, 1)


def test_exclusive_slots_reserve_only_their_own_gpus() -> None:
    own0 = dict(ONE_GPU, gpu_isolation="exclusive")
    none = dict(ONE_GPU, gpu_isolation="exclusive", gpu=0, gpus=[], gpu_visible=[])
    sched = make(
        [spec(0, requires={"gpu": 1.0}), spec(1)], worker("w0", own0), worker("w1", none), order="collection"
    )
    assert sched.next_for("w1") == 1
    assert sched.next_for("w0") == 0


def test_mpi_needs_as_many_slots_as_ranks() -> None:
    t = spec(0, requires={"mpi": 2.0, "cpus": 2.0})
    assert missing_capability(t, {}, frozenset(), 2) is None
    assert missing_capability(t, {}, frozenset(), 1) == "mpi=2 needs 2 worker slots; the fleet has 1"


def test_a_busy_worker_drains_for_a_gpu_test_that_fits_instead_of_queueing_plain_ones() -> None:
    history = {"m.py::test_0": 5.0, "m.py::test_1": 5.0} | {f"m.py::test_{i}": 1.0 for i in range(2, 6)}
    sched = make(
        [spec(0, requires={"gpu": 1.0}), spec(1, requires={"gpu": 1.0})] + [spec(i) for i in range(2, 6)],
        *gpu_fleet(2),
        history=history,
    )
    assert sched.next_for("w0") == 0  # holds the GPU
    p1 = sched.next_for("w1")
    p2 = sched.next_for("w1")  # test 1 cannot have the GPU now anyway: w1 keeps queueing plain tests
    assert {p1, p2} <= {2, 3, 4, 5}
    sched.done("w0", 0)  # the GPU is free
    sched.done("w1", p1)  # w1 runs p2 and asks for its next item
    assert sched.next_for("w1") is None  # test 1 fits once w1 is idle: nothing more queued
    sched.done("w1", p2)
    assert sched.next_for("w1") == 1
