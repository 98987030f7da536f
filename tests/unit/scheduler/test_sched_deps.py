"""Dependency resolution (fleet(after=...) and pytest-dependency), cycles, and build_scheduler."""

from __future__ import annotations

from typing import Any

import pytest

from testfleet.errors import UsageError
from testfleet.scheduler import build_scheduler, protocol
from testfleet.scheduler.deps import find_cycle, resolve


def spec(i: int, nodeid: str, **kw: Any) -> protocol.TestSpec:
    module, _, rest = nodeid.partition("::")
    parent = nodeid.rsplit("::", 1)[0]
    return protocol.TestSpec(
        index=i, nodeid=nodeid, module=module, parent=parent, name=rest.rsplit("::", 1)[-1], **kw
    )


def dep(**kwargs: Any) -> dict[str, Any]:
    return {"dependency": [{"args": [], "kwargs": kwargs}]}


def resolved(
    tests: list[protocol.TestSpec], items: list[dict[str, Any]] | None = None, partial: bool = False
) -> tuple[dict[int, list[int]], list[tuple[int, str]]]:
    return resolve(tests, items or [{} for _ in tests], partial_selection=partial)


# --------------------------------------------------------------------------- resolve


def test_after_name_relative_to_the_module() -> None:
    tests = [spec(0, "a.py::test_x"), spec(1, "b.py::test_x"), spec(2, "b.py::test_y", after=("test_x",))]
    assert resolved(tests) == ({2: [1]}, [])


def test_after_class_relative_name_and_full_node_id() -> None:
    tests = [
        spec(0, "a.py::TestK::test_x"),
        spec(1, "b.py::test_z"),
        spec(2, "a.py::test_y", after=("TestK::test_x", "b.py::test_z")),
    ]
    assert resolved(tests) == ({2: [0, 1]}, [])


def test_dependency_name_alias() -> None:
    tests = [spec(0, "a.py::test_create"), spec(1, "a.py::test_use")]
    items = [dep(name="created"), dep(depends=["created"])]
    assert resolved(tests, items) == ({1: [0]}, [])


def test_dependency_depends_by_module_relative_name() -> None:
    tests = [spec(0, "a.py::test_create"), spec(1, "a.py::test_use")]
    assert resolved(tests, [{}, dep(depends=["test_create"])]) == ({1: [0]}, [])


def test_dependency_class_scope_prefers_the_same_class() -> None:
    tests = [spec(0, "a.py::test_x"), spec(1, "a.py::TestK::test_x"), spec(2, "a.py::TestK::test_y")]
    items = [{}, {}, dep(depends=["test_x"], scope="class")]
    assert resolved(tests, items) == ({2: [1]}, [])
    items_module = [{}, {}, dep(depends=["test_x"])]
    assert resolved(tests, items_module) == ({2: [0]}, [])


def test_dependency_session_scope_uses_full_node_ids() -> None:
    tests = [spec(0, "a.py::test_x"), spec(1, "b.py::test_y")]
    items = [{}, dep(depends=["a.py::test_x"], scope="session")]
    assert resolved(tests, items) == ({1: [0]}, [])


def test_missing_dependency_is_a_usage_error_naming_test_and_dependency() -> None:
    tests = [spec(0, "a.py::test_y", after=("test_nope",))]
    with pytest.raises(UsageError) as info:
        resolved(tests)
    assert str(info.value) == "a.py::test_y: depends on 'test_nope', which is not a collected test"
    assert info.value.exit_code == 4


def test_missing_dependency_under_partial_selection_is_a_skip() -> None:
    tests = [spec(0, "a.py::test_x"), spec(1, "a.py::test_y", after=("test_x", "test_nope"))]
    assert resolved(tests, partial=True) == (
        {},
        [(1, "depends on test_nope, which is not selected in this run")],
    )  # skipped: waits for nothing


def test_depending_on_itself_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^a\.py::test_x: depends on itself$"):
        resolved([spec(0, "a.py::test_x", after=("test_x",))])


def test_cycle_is_a_usage_error_that_prints_it() -> None:
    tests = [spec(0, "a.py::test_a", after=("test_b",)), spec(1, "a.py::test_b", after=("test_a",))]
    with pytest.raises(UsageError) as info:
        resolved(tests)
    assert str(info.value) == "dependency cycle: a.py::test_a -> a.py::test_b -> a.py::test_a"


# --------------------------------------------------------------------------- find_cycle


def test_find_cycle_none_for_a_dag() -> None:
    assert find_cycle({2: [0, 1], 1: [0], 3: [2, 0]}) is None
    assert find_cycle({}) is None


def test_find_cycle_returns_the_loop_with_its_first_node_repeated() -> None:
    assert find_cycle({0: [1], 1: [2], 2: [3], 3: [1]}) == [1, 2, 3, 1]
    assert find_cycle({5: [5]}) == [5, 5]


# --------------------------------------------------------------------------- build_scheduler


def build(
    tests: list[protocol.TestSpec],
    fleet: list[protocol.WorkerSpec] | None = None,
    items: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> Any:
    args: dict[str, Any] = {
        "order": "duration",
        "seed": None,
        "history": {},
        "last_outcomes": {},
        "partial_selection": False,
    }
    args.update(kw)
    fleet = [protocol.WorkerSpec("w0"), protocol.WorkerSpec("w1")] if fleet is None else fleet
    sched, settled = build_scheduler(tests, items or [{} for _ in tests], fleet=fleet, **args)
    for w in fleet:  # the controller adds each worker when it says hello
        sched.add_worker(w)
    return sched, settled


def test_unschedulable_tests_are_presettled_naming_the_capability() -> None:
    tests = [
        spec(0, "a.py::test_gpu", requires={"gpu": 1.0}),
        spec(1, "a.py::test_web", tags=frozenset({"web"})),
        spec(2, "a.py::test_plain"),
    ]
    sched, settled = build(tests)
    assert settled == [
        (0, "unschedulable", "no worker can run it: needs gpu=1 (workers have gpu=0)"),
        (
            1,
            "unschedulable",
            "no worker can run it: needs tag 'web' (no worker advertises it; use --tag web)",
        ),
    ]
    assert sched.pending() == 1


def test_a_test_one_worker_can_run_is_schedulable() -> None:
    fleet = [protocol.WorkerSpec("w0"), protocol.WorkerSpec("w1", {"gpu": 1})]
    sched, settled = build([spec(0, "a.py::test_gpu", requires={"gpu": 1.0})], fleet)
    assert settled == []
    assert sched.next_for("w0") is None
    assert sched.next_for("w1") == 0


def test_an_empty_fleet_settles_nothing() -> None:
    sched, settled = build([spec(0, "a.py::test_gpu", requires={"gpu": 1.0})], fleet=[])
    assert settled == []
    assert sched.pending() == 1


def test_dependent_of_an_unschedulable_test_is_skipped_once_that_is_recorded() -> None:
    tests = [
        spec(0, "a.py::test_gpu", requires={"gpu": 1.0}),
        spec(1, "a.py::test_after", after=("test_gpu",)),
    ]
    sched, settled = build(tests)
    assert [s[:2] for s in settled] == [(0, "unschedulable")]
    assert sched.next_for("w0") is None  # waits for test 0's outcome from the controller
    assert sched.finished(0, "unschedulable") == [(1, "depends on a.py::test_gpu, which ended unschedulable")]


def test_unresolved_dependency_under_partial_selection_is_presettled_skipped() -> None:
    sched, settled = build([spec(0, "a.py::test_y", after=("test_gone",))], partial_selection=True)
    assert settled == [(0, "skipped", "depends on test_gone, which is not selected in this run")]
    assert sched.pending() == 0


def test_a_test_with_two_unselected_dependencies_is_settled_once() -> None:
    sched, settled = build(
        [spec(0, "a.py::test_y", after=("test_gone", "test_lost"))], partial_selection=True
    )
    assert [s[0] for s in settled] == [0]


def test_resume_done_tests_leave_the_queue_and_skip_their_dependents() -> None:
    tests = [spec(0, "a.py::test_a"), spec(1, "a.py::test_b", after=("test_a",)), spec(2, "a.py::test_c")]
    sched, settled = build(tests, done={0: "failed"})
    assert settled == [(1, "skipped", "depends on a.py::test_a, which ended failed")]
    assert sched.pending() == 1
    assert sched.next_for("w0") == 2


def test_resume_passed_dependency_lets_the_dependent_run() -> None:
    tests = [spec(0, "a.py::test_a"), spec(1, "a.py::test_b", after=("test_a",))]
    sched, settled = build(tests, done={0: "passed"})
    assert settled == []
    assert sched.next_for("w0") == 1


def test_last_failures_run_first_with_failed_first_order() -> None:
    tests = [spec(i, f"a.py::test_{i}") for i in range(4)]
    history = {"a.py::test_0": 5.0, "a.py::test_1": 1.0, "a.py::test_2": 9.0}
    sched, _ = build(tests, order="failed-first", history=history, last_outcomes={"a.py::test_1": "crashed"})
    # failed last time, then new (test_3), then known longest first
    assert [sched.next_for("w0") for _ in range(4)] == [1, 3, 2, 0]


def test_deadline_switches_to_value_order() -> None:
    tests = [spec(i, f"a.py::test_{i}") for i in range(4)]
    history = {"a.py::test_0": 5.0, "a.py::test_1": 1.0, "a.py::test_2": 9.0, "a.py::test_3": 2.0}
    sched, _ = build(tests, history=history, last_outcomes={"a.py::test_2": "timeout"}, deadline=True)
    assert [sched.next_for("w0") for _ in range(4)] == [2, 1, 3, 0]
