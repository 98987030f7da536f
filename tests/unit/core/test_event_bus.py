"""The event bus: delivery by type, unsubscribe, and a raising subscriber never breaks a run."""

from __future__ import annotations

import json

import pytest

from testfleet.events import EventBus, RunStarted, TestFinished, TestStarted, WorkerDown, to_json


def finished(nodeid: str, outcome: str = "passed") -> TestFinished:
    return TestFinished(nodeid=nodeid, outcome=outcome, worker_id="w0", duration=0.1)


def test_handlers_get_only_their_types_in_order() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(lambda e: seen.append(f"a:{e.nodeid}"), TestFinished)
    bus.subscribe(lambda e: seen.append(f"b:{type(e).__name__}"))
    bus.publish(finished("t1"))
    bus.publish(WorkerDown("w1", "killed by signal 9"))
    assert seen == ["a:t1", "b:TestFinished", "b:WorkerDown"]


def test_wants_reflects_subscriptions_and_unsubscribe() -> None:
    bus = EventBus()
    assert not bus.wants(TestStarted)
    seen: list[object] = []
    off = bus.subscribe(seen.append, TestStarted)
    assert bus.wants(TestStarted) and not bus.wants(TestFinished)
    off()
    assert not bus.wants(TestStarted)
    bus.publish(TestStarted("t", "w0", 1.0))
    assert seen == []


def test_a_raising_subscriber_is_dropped_and_others_still_receive() -> None:
    bus = EventBus()
    got: list[str] = []

    def broken(event: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda e: got.append(e.nodeid), TestFinished)
    bus.publish(finished("t1"))
    bus.publish(finished("t2"))
    assert got == ["t1", "t2"]
    assert bus.errors == [
        (
            "test_a_raising_subscriber_is_dropped_and_others_still_receive.<locals>.broken",
            "RuntimeError: boom",
        )
    ]


def test_subscribing_to_a_non_event_type_is_an_error() -> None:
    with pytest.raises(TypeError, match="not an event type"):
        EventBus().subscribe(print, dict)


def test_to_json_round_trips_through_json() -> None:
    data = to_json(RunStarted("r1", 5.0, 4, "local", ("-q", "tests"), "/x"))
    assert json.loads(json.dumps(data)) == {
        "type": "RunStarted",
        "run_id": "r1",
        "time": 5.0,
        "workers": 4,
        "backend": "local",
        "args": ["-q", "tests"],
        "rootdir": "/x",
    }
