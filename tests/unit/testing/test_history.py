from __future__ import annotations

import itertools
import threading

import pytest

from testfleet.testing.errors import HistoryError
from testfleet.testing.history import Event, History, OpType, as_operations, op, pair_events


def fake_clock() -> itertools.count[float]:
    return itertools.count(1.0)


def test_records_and_pairs_invocations_with_completions() -> None:
    clock = fake_clock()
    h = History(clock=lambda: next(clock))
    h.invoke("a", "write", "x", 1)
    h.invoke("b", "read", "x")
    h.ok("a")
    h.ok("b", 1)
    ops = h.operations()
    assert [(o.process, o.f, o.key, o.value, o.result, o.status, o.start, o.end) for o in ops] == [
        ("a", "write", "x", 1, None, OpType.OK, 1.0, 3.0),
        ("b", "read", "x", None, 1, OpType.OK, 2.0, 4.0),
    ]
    assert [e.type for e in h.events] == [OpType.INVOKE, OpType.INVOKE, OpType.OK, OpType.OK]
    assert h.events[2].f == "write" and h.events[2].key == "x"  # completions inherit f and key


def test_info_and_dangling_invocations_have_no_end() -> None:
    h = History()
    h.invoke(1, "write", None, 5)
    h.info(1)
    h.invoke(2, "write", None, 6)  # never completes
    ops = h.operations()
    assert [(o.status, o.end) for o in ops] == [(OpType.INFO, None), (OpType.INFO, None)]


def test_misuse_is_reported() -> None:
    h = History()
    with pytest.raises(HistoryError, match="no pending operation"):
        h.ok("p")
    h.invoke("p", "read")
    with pytest.raises(HistoryError, match="while read is pending"):
        h.invoke("p", "read")


def test_operation_context_manager() -> None:
    h = History()
    with h.operation("c", "read", "k") as pending:
        pending.ok(7)
    with h.operation("c", "write", "k", 8):
        pass
    with pytest.raises(TimeoutError), h.operation("c", "write", "k", 9):
        raise TimeoutError("server slow")
    ops = h.operations()
    assert [(o.f, o.status, o.result) for o in ops] == [
        ("read", OpType.OK, 7),
        ("write", OpType.OK, None),
        ("write", OpType.INFO, "TimeoutError: server slow"),
    ]


def test_concurrent_recording_keeps_pairs_and_time_order() -> None:
    h = History()

    def client(p: int) -> None:
        for i in range(200):
            with h.operation(p, "write", "k", (p, i)):
                pass

    threads = [threading.Thread(target=client, args=(p,)) for p in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = h.events
    assert len(events) == 8 * 200 * 2
    assert [e.index for e in events] == list(range(len(events)))
    assert all(a.time <= b.time for a, b in zip(events, events[1:], strict=False))
    ops = h.operations()
    assert len(ops) == 1600 and all(o.status == OpType.OK and o.end >= o.start for o in ops)  # type: ignore[operator]
    for p in range(8):
        assert [o.value for o in ops if o.process == p] == [(p, i) for i in range(200)]


def test_pair_events_rejects_malformed_event_lists() -> None:
    bad = [Event(0, OpType.OK, "p", "read", None, 1, 0.0)]
    with pytest.raises(HistoryError, match="invoked nothing"):
        pair_events(bad)


def test_hand_built_operations_are_numbered() -> None:
    ops = as_operations([op(1, "write", 0, 1, value=1), op(2, "read", 2, 3, result=1)])
    assert [o.index for o in ops] == [0, 1]
    assert "#1 2 read() -> 1 ok" in ops[1].describe()
    with pytest.raises(HistoryError):
        op(1, "read", 5, 4)
