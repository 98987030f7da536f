"""Consistency checkers over recorded histories; each returns a :class:`CheckResult`.

* :func:`check_linearizable` / :func:`check_linearizable_kv` (in :mod:`.linearizability`): the
  strongest single-object guarantee.
* :func:`check_monotonic_reads`: a client never reads an older value after a newer one.
* :func:`check_read_your_writes`: after a client's write completes, its reads see that write or a
  later one.
* :func:`check_no_lost_writes`: every acknowledged add to a set or queue is in the final read (or was
  taken out of the queue).

Reads and writes are recognised by the operation name (``f``): ``read``/``get`` and
``write``/``put``/``set``/``cas``. Session checks assume each written value is unique per key.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from typing import Any

from testfleet.testing.history import HistoryLike, Operation, OpType, as_operations
from testfleet.testing.linearizability import (
    CASES,
    READS,
    WRITES,
    Model,
    RegisterModel,
    check_linearizable,
    check_linearizable_kv,
)
from testfleet.testing.verdict import CheckResult, passed, violated

__all__ = [
    "CheckResult",
    "Model",
    "RegisterModel",
    "check_linearizable",
    "check_linearizable_kv",
    "check_monotonic_reads",
    "check_no_lost_writes",
    "check_read_your_writes",
]


def _ok_reads(operations: list[Operation]) -> list[Operation]:
    return [o for o in operations if o.f in READS and o.status == OpType.OK]


def _written(o: Operation) -> Any:
    return o.value[1] if o.f in CASES else o.value


def _sessions(operations: list[Operation]) -> dict[tuple[Hashable, Hashable], list[Operation]]:
    sessions: dict[tuple[Hashable, Hashable], list[Operation]] = {}
    for o in sorted(operations, key=lambda o: (o.start, o.index)):
        sessions.setdefault((o.process, o.key), []).append(o)
    return sessions


def check_monotonic_reads(history: HistoryLike, *, order: Callable[[Any], Any] | None = None) -> CheckResult:
    """Per client and key, successive ``ok`` reads never go backwards by ``order`` (default: the value).

    Values must be comparable: versions, counters, log lengths (``order=len``). A read of ``None``
    (nothing there yet) after a read of a value is a violation.
    """
    rank = order or (lambda v: v)
    name = "monotonic-reads"
    operations = as_operations(history)
    for (process, key), session in _sessions(_ok_reads(operations)).items():
        previous: Operation | None = None
        for read in session:
            if (
                previous is not None
                and previous.result is not None
                and (read.result is None or rank(read.result) < rank(previous.result))
            ):
                return violated(
                    name,
                    f"client {process!r} read {previous.result!r} from key {key!r}, then the older "
                    f"{read.result!r}:",
                    (previous, read),
                )
            previous = read
    return passed(name, f"{len(_ok_reads(operations))} reads monotonic per client")


def check_read_your_writes(history: HistoryLike) -> CheckResult:
    """After a client's write completes, its later reads return that value or one written concurrently
    with or after it (by anyone); never the initial value, an older write, or an unknown value.
    """
    name = "read-your-writes"
    operations = as_operations(history)
    writes = [o for o in operations if (o.f in WRITES or o.f in CASES) and o.status != OpType.FAIL]
    checked = 0
    for (process, key), session in _sessions(operations).items():
        own: Operation | None = None  # the client's latest completed write
        for o in session:
            if (o.f in WRITES or o.f in CASES) and o.status == OpType.OK:
                own = o
            elif o.f in READS and o.status == OpType.OK and own is not None and own.end is not None:
                if o.start < own.end:
                    continue  # the read overlapped the write (cannot happen in one client, but be safe)
                checked += 1
                if o.result == _written(own):
                    continue
                allowed = any(
                    w.key == key
                    and _written(w) == o.result
                    and (w.end is None or w.end > own.start)
                    and w.start <= (o.end if o.end is not None else w.start)
                    for w in writes
                )
                if not allowed:
                    return violated(
                        name,
                        f"client {process!r} wrote {_written(own)!r} to key {key!r}, then read "
                        f"{o.result!r}, which is not that write nor a later one:",
                        (own, o),
                    )
    return passed(name, f"{checked} reads after own writes see them or newer")


def check_no_lost_writes(
    history: HistoryLike,
    *,
    add: Collection[str] = ("add", "enqueue", "push", "append"),
    read: Collection[str] = ("read",),
    remove: Collection[str] = ("dequeue", "take", "pop"),
) -> CheckResult:
    """Every acknowledged ``add`` (set or queue) is visible at the end, unless it was taken out.

    Per key, the last ``ok`` read (whose value is the whole collection) must contain every ``ok`` add
    that completed before that read was invoked, except values an ``ok`` ``remove`` returned. Values
    in the final read that no add ever attempted are reported as unexpected.
    """
    name = "no-lost-writes"
    operations = as_operations(history)
    keys = {o.key for o in operations if o.f in add}
    if not keys:
        return passed(name, "no add operations")
    total = 0
    for key in sorted(keys, key=repr):
        ops = [o for o in operations if o.key == key]
        reads = [o for o in ops if o.f in read and o.status == OpType.OK and o.end is not None]
        if not reads:
            return violated(name, f"key {key!r}: no successful final read to check the adds against")
        final = max(reads, key=lambda o: (o.end, o.index))
        visible = set(final.result or ())
        removed = {o.result for o in ops if o.f in remove and o.status == OpType.OK and o.result is not None}
        attempted = {o.value for o in ops if o.f in add}
        acked = [
            o
            for o in ops
            if o.f in add and o.status == OpType.OK and o.end is not None and o.end < final.start
        ]
        total += len(acked)
        lost = [o for o in acked if o.value not in visible and o.value not in removed]
        if lost:
            return violated(
                name,
                f"key {key!r}: {len(lost)} acknowledged add(s) missing from the final read "
                f"{final.describe()}; first: {lost[0].value!r}:",
                (lost[0], final),
            )
        unexpected = sorted((visible | removed) - attempted, key=repr)
        if unexpected:
            return violated(
                name, f"key {key!r}: read values no add ever attempted: {unexpected[:10]!r}:", (final,)
            )
    return passed(name, f"all {total} acknowledged adds visible")
