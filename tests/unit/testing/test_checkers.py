from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given
from hypothesis import strategies as st

from testfleet.testing.checkers import check_monotonic_reads, check_no_lost_writes, check_read_your_writes
from testfleet.testing.history import Operation, op


def r(p: Hashable, v: object, start: float, end: float, key: Hashable = "k") -> Operation:
    return op(p, "read", start, end, key=key, result=v)


def w(
    p: Hashable, v: object, start: float, end: float | None, status: str = "ok", key: Hashable = "k"
) -> Operation:
    return op(p, "write", start, end, key=key, value=v, status=status)


def add(p: Hashable, v: object, start: float, end: float | None, status: str = "ok") -> Operation:
    return op(p, "add", start, end, key="s", value=v, status=status)


def read_set(p: Hashable, values: list[int], start: float, end: float) -> Operation:
    return op(p, "read", start, end, key="s", result=values)


# ----- monotonic reads ----------------------------------------------------------------------------


def test_monotonic_reads_accepts_non_decreasing_reads_per_client() -> None:
    history = [r(1, 1, 0, 1), r(1, 2, 2, 3), r(1, 2, 4, 5), r(2, 1, 6, 7), r(1, 3, 8, 9)]
    assert check_monotonic_reads(history).ok  # client 2 reading 1 after client 1 read 2 is allowed


def test_monotonic_reads_reports_the_two_reads() -> None:
    result = check_monotonic_reads([r(1, 1, 0, 1), r(1, 3, 2, 3), r(1, 2, 4, 5)])
    assert not result.ok
    assert "client 1 read 3 from key 'k', then the older 2" in result.explanation
    assert [o.result for o in result.ops] == [3, 2]


def test_monotonic_reads_with_an_order_function_and_missing_values() -> None:
    assert check_monotonic_reads([r(1, [1], 0, 1), r(1, [1, 2], 2, 3)], order=len).ok
    assert not check_monotonic_reads([r(1, [1, 2], 0, 1), r(1, [9], 2, 3)], order=len).ok
    assert not check_monotonic_reads([r(1, 5, 0, 1), r(1, None, 2, 3)]).ok
    assert check_monotonic_reads([r(1, None, 0, 1), r(1, 5, 2, 3)]).ok


@given(st.lists(st.integers(0, 5), min_size=2, max_size=20))
def test_monotonic_reads_property(values: list[int]) -> None:
    history = [r(1, v, 2 * i, 2 * i + 1) for i, v in enumerate(values)]
    expected = all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert check_monotonic_reads(history).ok is expected


# ----- read your writes ---------------------------------------------------------------------------


def test_read_your_writes_ok_when_own_write_or_newer_is_seen() -> None:
    history = [w(1, "a", 0, 1), r(1, "a", 2, 3), w(2, "b", 4, 5), r(1, "b", 6, 7)]
    assert check_read_your_writes(history).ok


def test_read_your_writes_violated_by_an_older_value() -> None:
    history = [w(2, "old", 0, 1), w(1, "mine", 2, 3), r(1, "old", 4, 5)]
    result = check_read_your_writes(history)
    assert not result.ok
    assert "client 1 wrote 'mine' to key 'k', then read 'old'" in result.explanation


def test_read_your_writes_look_alike_concurrent_write_is_allowed() -> None:
    # same values, but the other client's write overlaps ours, so it may be ordered after it
    assert check_read_your_writes([w(2, "old", 0, 2.5), w(1, "mine", 2, 3), r(1, "old", 4, 5)]).ok


def test_read_your_writes_violated_by_initial_value_and_unknown_values() -> None:
    assert not check_read_your_writes([w(1, "x", 0, 1), r(1, None, 2, 3)]).ok
    assert not check_read_your_writes([w(1, "x", 0, 1), r(1, "never-written", 2, 3)]).ok
    assert check_read_your_writes([r(1, None, 0, 1), w(1, "x", 2, 3)]).ok  # reads before writing: no claim


# ----- no lost writes -----------------------------------------------------------------------------


def test_all_acknowledged_adds_are_in_the_final_read() -> None:
    history = [add(p, p, p, p + 0.5) for p in range(5)] + [read_set(9, [0, 1, 2, 3, 4], 10, 11)]
    assert check_no_lost_writes(history).ok


def test_a_lost_acknowledged_add_is_named() -> None:
    history = [add(p, p, p, p + 0.5) for p in range(5)] + [read_set(9, [0, 1, 2, 4], 10, 11)]
    result = check_no_lost_writes(history)
    assert not result.ok
    assert "1 acknowledged add(s) missing" in result.explanation and "first: 3" in result.explanation
    assert result.ops[0].value == 3


def test_unacknowledged_and_late_adds_may_be_missing() -> None:
    history = [
        add(1, 1, 0, 1),
        add(2, 2, 0, None, status="info"),  # unknown outcome
        add(3, 3, 0, 1, status="fail"),
        add(4, 4, 9, 12),  # acknowledged after the final read began
        read_set(9, [1], 10, 11),
    ]
    assert check_no_lost_writes(history).ok


def test_only_the_last_read_counts() -> None:
    history = [add(1, 1, 0, 1), read_set(2, [1], 2, 3), read_set(2, [], 4, 5)]
    assert not check_no_lost_writes(history).ok


def test_unexpected_values_and_missing_read() -> None:
    assert (
        "no add ever attempted"
        in check_no_lost_writes([add(1, 1, 0, 1), read_set(2, [1, 99], 2, 3)]).explanation
    )
    assert "no successful final read" in check_no_lost_writes([add(1, 1, 0, 1)]).explanation


def test_queue_dequeued_values_are_not_lost() -> None:
    history = [
        op(1, "enqueue", 0, 1, key="q", value="a"),
        op(1, "enqueue", 1, 2, key="q", value="b"),
        op(2, "dequeue", 3, 4, key="q", result="a"),
        op(2, "dequeue", 4, 5, key="q", result=None),  # an empty dequeue is not an element
        op(3, "read", 6, 7, key="q", result=["b"]),
    ]
    assert check_no_lost_writes(history).ok
    lost = history[:3] + [op(3, "read", 6, 7, key="q", result=[])]
    assert not check_no_lost_writes(lost).ok
