from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testfleet.testing.errors import CheckerLimitError, HistoryError
from testfleet.testing.history import History, Operation, OpType, as_operations, op
from testfleet.testing.linearizability import RegisterModel, check_linearizable, check_linearizable_kv


def w(
    p: Hashable, v: object, start: float, end: float | None, status: str = "ok", key: Hashable = None
) -> Operation:
    return op(p, "write", start, end, value=v, status=status, key=key)


def r(p: Hashable, v: object, start: float, end: float, key: Hashable = None) -> Operation:
    return op(p, "read", start, end, result=v, key=key)


def test_sequential_history_is_linearizable() -> None:
    result = check_linearizable([r(1, None, 0, 1), w(1, 1, 2, 3), r(2, 1, 4, 5)])
    assert result.ok and bool(result)


def test_stale_read_after_completed_write_is_not_linearizable() -> None:
    history = [w(1, 1, 0, 1), w(1, 2, 2, 3), r(2, 1, 4, 5)]
    result = check_linearizable(history)
    assert not result.ok
    assert "read() -> 1 ok [4.000000..5.000000] cannot take effect" in result.explanation
    assert result.ops[0].f == "read" and result.ops[0].result == 1
    with pytest.raises(AssertionError, match="VIOLATION"):
        result.assert_ok()


def test_look_alike_read_concurrent_with_the_write_is_linearizable() -> None:
    # same operations as above, but the second write is still running during the read
    assert check_linearizable([w(1, 1, 0, 1), w(1, 2, 2, 5), r(2, 1, 3, 4)]).ok


def test_new_then_old_inversion_between_sequential_reads() -> None:
    # reader A sees the new value, then reader B (starting after A finished) sees the old one
    bad = [w(0, 1, 0, 1), w(0, 2, 2, 10), r("A", 2, 3, 4), r("B", 1, 5, 6)]
    result = check_linearizable(bad)
    assert not result.ok
    assert result.ops[0].process == "B"
    assert "Longest consistent order found" in result.explanation


def test_look_alike_overlapping_reads_may_be_ordered_either_way() -> None:
    good = [w(0, 1, 0, 1), w(0, 2, 2, 10), r("A", 2, 3, 4), r("B", 1, 3.5, 6)]
    assert check_linearizable(good).ok


def test_unknown_write_may_take_effect_much_later() -> None:
    assert check_linearizable([w(1, 7, 0, None, status="info"), r(2, None, 1, 2), r(2, 7, 100, 101)]).ok


def test_unknown_write_cannot_take_effect_before_it_was_invoked() -> None:
    assert not check_linearizable([r(2, 7, 0, 1), w(1, 7, 2, None, status="info")]).ok


def test_failed_write_must_not_be_visible() -> None:
    assert not check_linearizable([w(1, 7, 0, 1, status="fail"), r(2, 7, 2, 3)]).ok
    assert check_linearizable([w(1, 7, 0, 1, status="fail"), r(2, None, 2, 3)]).ok


def test_compare_and_set() -> None:
    cas = lambda p, old, new, s, e, status="ok": op(p, "cas", s, e, value=(old, new), status=status)  # noqa: E731
    # two concurrent cas(0 -> x) cannot both succeed
    assert not check_linearizable([w(0, 0, 0, 1), cas(1, 0, 1, 2, 5), cas(2, 0, 2, 3, 6)]).ok
    assert check_linearizable(
        [w(0, 0, 0, 1), cas(1, 0, 1, 2, 5), cas(2, 0, 2, 3, 6, "fail"), r(3, 1, 7, 8)]
    ).ok
    with pytest.raises(HistoryError, match="cas needs value"):
        check_linearizable([op(1, "cas", 0, 1, value=3)])


def test_initial_value_is_a_parameter() -> None:
    assert not check_linearizable([r(1, 0, 0, 1)]).ok
    assert check_linearizable([r(1, 0, 0, 1)], RegisterModel(initial=0)).ok


def test_unknown_operation_names_are_rejected() -> None:
    with pytest.raises(HistoryError, match="does not know operation 'incr'"):
        check_linearizable([op(1, "incr", 0, 1)])


def test_kv_checks_keys_independently_and_names_the_bad_key() -> None:
    history = [
        w(1, 1, 0, 1, key="x"),
        w(2, 5, 0, 1, key="y"),
        r(1, 1, 2, 3, key="x"),
        w(2, 6, 2, 3, key="y"),
        r(3, 5, 4, 5, key="y"),
    ]
    result = check_linearizable_kv(history)
    assert not result.ok
    assert result.explanation.startswith("key 'y': not linearizable")
    assert check_linearizable_kv(history[:4]).ok
    with pytest.raises(HistoryError, match="use check_linearizable_kv"):
        check_linearizable(history)


def test_recorded_history_object_is_accepted() -> None:
    h = History()
    h.invoke("a", "write", None, 1)
    h.ok("a")
    h.invoke("b", "read")
    h.ok("b", 1)
    assert check_linearizable(h).ok


def test_search_limit_is_an_error_not_a_verdict() -> None:
    # many fully concurrent writes and a read no order can satisfy: the search must give up
    history = [w(p, p, 0, 10) for p in range(12)] + [r(99, "never", 0, 10)]
    with pytest.raises(CheckerLimitError, match="passed 50 states"):
        check_linearizable(history, max_states=50)


# ----- properties ---------------------------------------------------------------------------------


@st.composite
def atomic_register_histories(draw: st.DrawFn) -> list[Operation]:
    """Histories produced by a real atomic register: each op takes effect at a point inside its span."""
    processes = draw(st.integers(1, 4))
    planned = []
    value = itertools.count(1)
    for p in range(processes):
        t = draw(st.floats(0, 2))
        for _ in range(draw(st.integers(1, 4))):
            start = t + draw(st.floats(0.01, 1))
            end = start + draw(st.floats(0.01, 3))
            point = start + draw(st.floats(0, 1)) * (end - start)
            kind = draw(st.sampled_from(["read", "write", "write-info", "write-lost"]))
            planned.append((point, p, kind, start, end, next(value)))
            t = end
    state = None
    ops = []
    for _point, p, kind, start, end, v in sorted(planned):
        if kind == "read":
            ops.append(r(p, state, start, end))
        else:
            if kind != "write-lost":  # a lost write (info) never took effect
                state = v
            ops.append(w(p, v, start, end if kind == "write" else None, "ok" if kind == "write" else "info"))
    return ops


@settings(max_examples=150, deadline=None)
@given(atomic_register_histories())
def test_histories_of_an_atomic_register_are_linearizable(history: list[Operation]) -> None:
    result = check_linearizable(history)
    assert result.ok, result.explanation


def brute_force(history: Sequence[Operation], model: RegisterModel) -> bool:
    ops = [o for o in history if o.status != OpType.FAIL and not (o.status == OpType.INFO and o.f == "read")]
    required = [o for o in ops if o.status == OpType.OK]
    optional = [o for o in ops if o.status == OpType.INFO]
    for k in range(len(optional) + 1):
        for extra in itertools.combinations(optional, k):
            for order in itertools.permutations(required + list(extra)):
                if any(
                    b.end is not None and b.end < a.start for i, a in enumerate(order) for b in order[i + 1 :]
                ):
                    continue
                state = model.initial()
                for o in order:
                    legal, state = model.step(state, o)
                    if not legal:
                        break
                else:
                    return True
    return False


@st.composite
def arbitrary_histories(draw: st.DrawFn) -> list[Operation]:
    n = draw(st.integers(1, 6))
    ops = []
    for i in range(n):
        start = draw(st.integers(0, 8))
        end = start + draw(st.integers(0, 4))
        f = draw(st.sampled_from(["read", "write"]))
        status = draw(st.sampled_from(["ok", "ok", "ok", "info", "fail"]))
        v = draw(st.sampled_from([None, 1, 2]))
        if f == "read":
            ops.append(op(i % 3, "read", start, end, result=v, status=status))
        else:
            ops.append(op(i % 3, "write", start, end, value=v, status=status))
    return as_operations(ops)


@settings(max_examples=300, deadline=None)
@given(arbitrary_histories())
def test_checker_agrees_with_brute_force(history: list[Operation]) -> None:
    assert check_linearizable(history).ok == brute_force(history, RegisterModel())
