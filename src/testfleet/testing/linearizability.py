"""Is a history linearizable? An exhaustive search in the style of Wing & Gong, memoized (Lowe).

Every ``ok`` operation must take effect atomically at one instant between its invocation and its
completion, in an order that the sequential ``model`` accepts. ``fail`` operations are dropped (they
did not happen); ``info`` operations may take effect at any instant after their invocation, or never.

The search walks orders depth first; a state is (set of operations already placed, model state), and
a state seen once is never expanded again, which keeps small histories (tens of operations, a handful
of concurrent clients) fast. A key-value map is linearizable iff every key is (linearizability is
local), so :func:`check_linearizable_kv` checks each key as its own register.

To explain a violation, the checker finds the first completion at which the history cut there is
already not linearizable (binary search: a prefix that fails makes every longer one fail), and names
the operation that completed there, with the longest consistent order it could find before it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Protocol

from testfleet.testing.errors import CheckerLimitError, HistoryError
from testfleet.testing.history import HistoryLike, Operation, OpType, as_operations
from testfleet.testing.verdict import CheckResult, passed, violated

READS = frozenset({"read", "get"})
WRITES = frozenset({"write", "put", "set"})
CASES = frozenset({"cas"})

DEFAULT_MAX_STATES = 200_000

CHECKER = "linearizable"


class Model(Protocol):
    """A sequential specification: the state is hashable, ``step`` says if ``op`` may happen now."""

    name: str

    def initial(self) -> Hashable: ...

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]: ...

    def is_read(self, op: Operation) -> bool: ...


class RegisterModel:
    """A single read/write/compare-and-set register.

    ``read``/``get`` must return the current value (the completion's value); ``write``/``put``/``set``
    store the invocation's value; ``cas`` takes ``(expected, new)`` and an ``ok`` cas succeeded.
    """

    name = "register"

    def __init__(self, initial: Hashable = None) -> None:
        self.initial_value = initial

    def initial(self) -> Hashable:
        return self.initial_value

    def is_read(self, op: Operation) -> bool:
        return op.f in READS

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        if op.f in READS:
            return (op.result == state, state)
        if op.f in WRITES:
            return (True, op.value)
        if op.f in CASES:
            try:
                expected, new = op.value
            except (TypeError, ValueError):
                raise HistoryError(
                    f"cas needs value=(expected, new), got {op.value!r} in {op.describe()}"
                ) from None
            return (state == expected, new)
        raise HistoryError(
            f"register model does not know operation {op.f!r}; accepted: {sorted(READS | WRITES | CASES)}"
        )


class _Item:
    __slots__ = ("op", "start", "end", "required")

    def __init__(self, op: Operation, start: float, end: float, required: bool) -> None:
        self.op = op
        self.start = start
        self.end = end
        self.required = required


def _search(items: Sequence[_Item], model: Model, max_states: int) -> tuple[bool, list[int], Hashable]:
    """Depth-first search for an order; returns (found, longest order of item indices, its state)."""
    n = len(items)
    required = sum(1 << i for i, item in enumerate(items) if item.required)
    start_key = (0, model.initial())
    parents: dict[tuple[int, Hashable], tuple[tuple[int, Hashable], int] | None] = {start_key: None}
    stack = [start_key]
    best_key, best_count = start_key, 0
    while stack:
        key = stack.pop()
        mask, state = key
        if mask & required == required:
            return True, _path(parents, key), state
        remaining = [i for i in range(n) if not mask >> i & 1]
        min_end = min(items[i].end for i in remaining)
        for i in reversed(remaining):  # reversed: the earliest invocation is explored first
            if items[i].start > min_end:
                continue  # some remaining operation completed before this one was invoked
            legal, new_state = model.step(state, items[i].op)
            if not legal:
                continue
            child = (mask | 1 << i, new_state)
            if child in parents:
                continue
            parents[child] = (key, i)
            if len(parents) > max_states:
                raise CheckerLimitError(
                    f"linearizability search passed {max_states} states on {n} operations; "
                    "check a shorter or less concurrent history, or raise max_states"
                )
            stack.append(child)
            count = (child[0] & required).bit_count()
            if count > best_count:
                best_key, best_count = child, count
    return False, _path(parents, best_key), best_key[1]


def _path(
    parents: dict[tuple[int, Hashable], tuple[tuple[int, Hashable], int] | None], key: tuple[int, Hashable]
) -> list[int]:
    order: list[int] = []
    link = parents[key]
    while link is not None:
        key, index = link
        order.append(index)
        link = parents[key]
    return order[::-1]


def _prepare(operations: Sequence[Operation], model: Model) -> list[Operation]:
    kept = []
    for o in operations:
        if o.status == OpType.FAIL or (o.status == OpType.INFO and model.is_read(o)):
            continue
        kept.append(o)
    return sorted(kept, key=lambda o: (o.start, o.index))


def _items(ops: Sequence[Operation], cut: float = math.inf) -> list[_Item]:
    """The history as seen at time ``cut``: later invocations left out, later completions unknown."""
    items = []
    for o in ops:
        if o.start > cut:
            continue
        done = o.status == OpType.OK and o.end is not None and o.end <= cut
        items.append(_Item(o, o.start, o.end if done and o.end is not None else math.inf, done))
    return items


def _check(ops: list[Operation], model: Model, max_states: int, label: str) -> CheckResult:
    found, _, _ = _search(_items(ops), model, max_states)
    if found:
        return passed(CHECKER, f"{label}{len(ops)} operations linearizable ({model.name})")
    cuts = sorted({o.end for o in ops if o.status == OpType.OK and o.end is not None})
    lo, hi = 0, len(cuts) - 1  # the cut at cuts[hi] (everything completed) fails
    while lo < hi:
        mid = (lo + hi) // 2
        if _search(_items(ops, cuts[mid]), model, max_states)[0]:
            lo = mid + 1
        else:
            hi = mid
    cut = cuts[hi]
    items = _items(ops, cut)
    _, order, state = _search(items, model, max_states)
    culprits = [o for o in ops if o.end == cut and o.status == OpType.OK]
    culprit = culprits[0]
    involved = [culprit] + [
        o for o in ops if o is not culprit and o.start <= cut and (o.end is None or o.end >= culprit.start)
    ]
    placed = "; ".join(items[i].op.describe() for i in order) or "(nothing)"
    explanation = (
        f"{label}not linearizable ({model.name}, initial {model.initial()!r}): {culprit.describe()} "
        f"cannot take effect anywhere consistent with the {sum(i.required for i in items)} operations "
        f"completed by then. Longest consistent order found: {placed}; state after it: {state!r}. "
        "Operations involved:"
    )
    return violated(CHECKER, explanation, tuple(involved[:12]))


def check_linearizable(
    history: HistoryLike, model: Model | None = None, *, max_states: int = DEFAULT_MAX_STATES
) -> CheckResult:
    """Check one object (default: a register starting at ``None``). For several keys use the kv checker."""
    operations = as_operations(history)
    model = model or RegisterModel()
    if isinstance(model, RegisterModel):
        keys = {o.key for o in operations}
        if len(keys) > 1:
            raise HistoryError(
                f"history touches {len(keys)} keys; a register has one: use check_linearizable_kv"
            )
    return _check(_prepare(operations, model), model, max_states, "")


def check_linearizable_kv(
    history: HistoryLike, initial: Hashable = None, *, max_states: int = DEFAULT_MAX_STATES
) -> CheckResult:
    """Check a key-value map: every key must be a linearizable register starting at ``initial``."""
    operations = as_operations(history)
    by_key: dict[Hashable, list[Operation]] = {}
    for o in operations:
        by_key.setdefault(o.key, []).append(o)
    model = RegisterModel(initial)
    for key, ops in sorted(by_key.items(), key=lambda kv: repr(kv[0])):
        result = _check(_prepare(ops, model), model, max_states, f"key {key!r}: ")
        if not result.ok:
            return result
    return passed(CHECKER, f"{len(operations)} operations on {len(by_key)} keys linearizable")
