"""LiveState: what the live page shows, fed by run events (no server, no processes)."""

from __future__ import annotations

from testfleet import events
from testfleet.dashboard.state import MAX_FAILURE_TEXT, MAX_FAILURES, LiveState


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def started(state: LiveState, workers: int = 2, total: int = 10) -> None:
    state.handle(events.RunStarted("run-1", 1000.0, workers, "local"))
    state.handle(events.Collected("run-1", total, 1, 0.5))
    for i in range(workers):
        state.handle(events.WorkerUp(f"w{i}", 100 + i, "host-a"))


def finish(nodeid: str, outcome: str = "passed", worker: str = "w0", **kw: object) -> events.TestFinished:
    return events.TestFinished(nodeid=nodeid, outcome=outcome, worker_id=worker, duration=0.1, **kw)  # type: ignore[arg-type]


def test_counts_progress_and_eta_follow_the_events() -> None:
    clock = Clock()
    state = LiveState(clock)
    started(state)
    state.handle(events.TestStarted("t.py::a", "w0", 1000.0))
    clock.now = 1002.0
    state.handle(finish("t.py::a"))
    state.handle(finish("t.py::b", "skipped"))
    view = state.view()
    assert view["counts"] == {"passed": 1, "skipped": 1}
    assert (view["total"], view["done"], view["deselected"]) == (10, 2, 1)
    # 2 tests in 2 s since the first test started: 8 left take 8 s.
    assert view["eta"] == 8.0
    assert view["end"] is None and view["run_id"] == "run-1"


def test_lanes_show_the_current_test_its_elapsed_time_and_workers_that_went_down() -> None:
    clock = Clock(1010.0)
    state = LiveState(clock)
    started(state)
    state.handle(events.TestStarted("t.py::slow", "w1", 1004.0))
    state.handle(events.WorkerDown("w0", "killed by signal 9"))
    lanes = {lane["worker"]: lane for lane in state.view()["lanes"]}
    assert lanes["w1"]["current"] == "t.py::slow" and lanes["w1"]["elapsed"] == 6.0
    assert lanes["w0"]["up"] is False and lanes["w0"]["reason"] == "killed by signal 9"
    state.handle(finish("t.py::slow", worker="w1"))
    lanes = {lane["worker"]: lane for lane in state.view()["lanes"]}
    assert lanes["w1"]["current"] is None and lanes["w1"]["done"] == 1


def test_nodes_group_lanes_with_their_health() -> None:
    state = LiveState(Clock())
    state.handle(events.RunStarted("r", 1000.0, 4, "ray"))
    for wid, node in (("w0", "n1"), ("w1", "n1"), ("w2", "n2"), ("w3", "n2")):
        state.handle(events.WorkerUp(wid, None, "h", node=node))
    state.handle(events.WorkerDown("w2", "node lost"))
    state.handle(events.WorkerDown("w3", "node lost"))
    nodes = {n["node"]: n for n in state.view()["nodes"]}
    assert nodes["n1"]["health"] == "healthy" and nodes["n1"]["workers"] == ["w0", "w1"]
    assert nodes["n2"]["health"] == "down" and nodes["n2"]["up"] == 0
    state.handle(events.WorkerUp("w3", None, "h", node="n2", replacement=True))
    assert {n["node"]: n["health"] for n in state.view()["nodes"]}["n2"] == "degraded"


def test_failures_arrive_in_order_and_a_client_gets_only_the_new_ones() -> None:
    state = LiveState(Clock())
    started(state)
    state.handle(finish("t.py::a", "failed", message="boom", failure_text="E  boom"))
    first = state.view()
    assert [f["nodeid"] for f in first["failures"]] == ["t.py::a"]
    assert first["failures"][0]["text"] == "E  boom" and first["snapshot"] is True
    state.handle(finish("t.py::b", "error", message="fixture"))
    state.handle(finish("t.py::c", "passed"))
    later = state.view(since=first["failure_seq"])
    assert [f["nodeid"] for f in later["failures"]] == ["t.py::b"] and later["snapshot"] is False
    assert state.view(since=later["failure_seq"])["failures"] == []


def test_a_retried_attempt_is_a_failure_but_not_a_final_count() -> None:
    state = LiveState(Clock())
    started(state)
    state.handle(finish("t.py::f", "failed", final=False, attempt=1))
    state.handle(finish("t.py::f", "passed", attempt=2, flaky=True))
    view = state.view()
    assert view["counts"] == {"passed": 1} and view["flaky"] == 1 and view["retried"] == 1
    assert [(f["outcome"], f["final"]) for f in view["failures"]] == [("failed", False)]


def test_only_the_newest_failures_are_kept_and_a_late_client_learns_how_many_it_missed() -> None:
    state = LiveState(Clock())
    started(state, total=MAX_FAILURES + 50)
    for i in range(MAX_FAILURES + 50):
        state.handle(finish(f"t.py::f{i}", "failed", failure_text="x" * (MAX_FAILURE_TEXT + 5)))
    view = state.view()
    assert len(view["failures"]) == MAX_FAILURES and view["missed_failures"] == 50
    assert view["failures"][0]["nodeid"] == "t.py::f50"
    assert len(view["failures"][0]["text"]) == MAX_FAILURE_TEXT and view["failures"][0]["truncated"]


def test_the_end_of_the_run_stops_the_eta_and_clears_the_lanes() -> None:
    state = LiveState(Clock())
    started(state, total=1)
    state.handle(events.TestStarted("t.py::a", "w0", 1000.0))
    state.handle(events.RunFinished("run-1", 1003.0, 2, "interrupted", {"not_run": 1}, 3.0))
    view = state.view()
    assert view["end"] == {
        "status": "interrupted",
        "exit_code": 2,
        "counts": {"not_run": 1},
        "wall_seconds": 3.0,
    }
    assert view["eta"] is None and all(lane["current"] is None for lane in view["lanes"])


def test_every_event_bumps_the_version() -> None:
    state = LiveState(Clock())
    bus = events.EventBus()
    unsubscribe = state.subscribe(bus)
    bus.publish(events.RunStarted("r", 1.0, 1, "local"))
    bus.publish(events.WorkerUp("w0", 1, "h"))
    assert state.version == 2
    unsubscribe()
    bus.publish(events.WorkerDown("w0", "exited"))
    assert state.version == 2 and not bus.errors
