"""Record what clients did to a system under test, for the checkers to judge afterwards.

A history is a list of :class:`Event` s: a process *invokes* an operation and later it completes as
``ok`` (it happened; for a read, ``value`` is what was read), ``fail`` (it certainly did not happen)
or ``info`` (unknown: a timeout, a crash; it may have happened at any time after the invocation).
:meth:`History.operations` pairs them into :class:`Operation` s, which is what checkers read.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from testfleet.testing.errors import HistoryError


class OpType(enum.StrEnum):
    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True)
class Event:
    """One line of a history."""

    index: int
    type: OpType
    process: Hashable
    f: str
    key: Hashable | None
    value: Any
    time: float


@dataclass(frozen=True)
class Operation:
    """An invocation paired with its completion.

    ``value`` is the invocation's argument (what was written), ``result`` the completion's value (what
    was read). ``end`` is None when the outcome is unknown (``info``, or never completed).
    """

    process: Hashable
    f: str
    key: Hashable | None
    value: Any
    result: Any
    status: OpType
    start: float
    end: float | None
    index: int = 0

    def describe(self) -> str:
        key = "" if self.key is None else f"{self.key!r}"
        arg = "" if self.value is None else (f", {self.value!r}" if key else f"{self.value!r}")
        shown = f" -> {self.result!r}" if self.status == OpType.OK and self.result is not None else ""
        end = "?" if self.end is None else f"{self.end:.6f}"
        return f"#{self.index} {self.process!r} {self.f}({key}{arg}){shown} {self.status.value} [{self.start:.6f}..{end}]"


def op(
    process: Hashable,
    f: str,
    start: float,
    end: float | None,
    *,
    key: Hashable | None = None,
    value: Any = None,
    result: Any = None,
    status: OpType | str = OpType.OK,
    index: int = 0,
) -> Operation:
    """Build an :class:`Operation` by hand (hand-written histories in tests)."""
    kind = OpType(status)
    if kind == OpType.INVOKE:
        raise HistoryError("an operation's status must be ok, fail or info, not invoke")
    if kind == OpType.INFO:
        end = None
    elif end is None or end < start:
        raise HistoryError(f"operation {f} of {process!r}: end {end!r} must be >= start {start!r}")
    return Operation(process, f, key, value, result, kind, start, end, index)


def pair_events(events: Iterable[Event]) -> list[Operation]:
    """Pair invocations with completions per process; a dangling invocation becomes ``info``."""
    pending: dict[Hashable, Event] = {}
    operations: list[Operation] = []
    for event in events:
        if event.type == OpType.INVOKE:
            if event.process in pending:
                raise HistoryError(
                    f"event #{event.index}: process {event.process!r} invoked {event.f} while "
                    f"#{pending[event.process].index} {pending[event.process].f} is still pending"
                )
            pending[event.process] = event
            continue
        started = pending.pop(event.process, None)
        if started is None:
            raise HistoryError(
                f"event #{event.index}: {event.type.value} for {event.process!r}, which invoked nothing"
            )
        end = None if event.type == OpType.INFO else event.time
        operations.append(
            Operation(
                started.process,
                started.f,
                started.key,
                started.value,
                event.value,
                event.type,
                started.time,
                end,
                started.index,
            )
        )
    for started in pending.values():
        operations.append(
            Operation(
                started.process,
                started.f,
                started.key,
                started.value,
                None,
                OpType.INFO,
                started.time,
                None,
                started.index,
            )
        )
    operations.sort(key=lambda o: o.index)
    return operations


class Pending:
    """The handle :meth:`History.operation` yields: call :meth:`ok`, :meth:`fail` or :meth:`info` once."""

    def __init__(self, history: History, process: Hashable) -> None:
        self._history = history
        self._process = process
        self.done = False

    def ok(self, value: Any = None) -> None:
        self._complete(OpType.OK, value)

    def fail(self, value: Any = None) -> None:
        self._complete(OpType.FAIL, value)

    def info(self, value: Any = None) -> None:
        self._complete(OpType.INFO, value)

    def _complete(self, kind: OpType, value: Any) -> None:
        if self.done:
            raise HistoryError(f"operation of {self._process!r} completed twice")
        self._history._record(kind, self._process, None, None, value)
        self.done = True


class History:
    """A thread-safe recorder; timestamps come from ``clock`` (default :func:`time.monotonic`).

    The clock is read under the lock, so event order and timestamp order agree.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._pending: dict[Hashable, Event] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def operations(self) -> list[Operation]:
        return pair_events(self.events)

    def invoke(self, process: Hashable, f: str, key: Hashable | None = None, value: Any = None) -> Event:
        return self._record(OpType.INVOKE, process, f, key, value)

    def ok(self, process: Hashable, value: Any = None) -> Event:
        return self._record(OpType.OK, process, None, None, value)

    def fail(self, process: Hashable, value: Any = None) -> Event:
        return self._record(OpType.FAIL, process, None, None, value)

    def info(self, process: Hashable, value: Any = None) -> Event:
        return self._record(OpType.INFO, process, None, None, value)

    @contextmanager
    def operation(
        self, process: Hashable, f: str, key: Hashable | None = None, value: Any = None
    ) -> Iterator[Pending]:
        """Invoke on entry; on exit, ``ok`` unless the block completed it, ``info`` if it raised."""
        self.invoke(process, f, key, value)
        handle = Pending(self, process)
        try:
            yield handle
        except BaseException as error:
            if not handle.done:
                handle.info(f"{type(error).__name__}: {error}")
            raise
        if not handle.done:
            handle.ok()

    def _record(
        self, kind: OpType, process: Hashable, f: str | None, key: Hashable | None, value: Any
    ) -> Event:
        with self._lock:
            if kind == OpType.INVOKE:
                if process in self._pending:
                    raise HistoryError(
                        f"process {process!r} invoked {f} while {self._pending[process].f} is pending; "
                        "use one process id per concurrent client"
                    )
            elif process not in self._pending:
                raise HistoryError(f"{kind.value} for process {process!r}, which has no pending operation")
            started = self._pending.pop(process, None)
            event = Event(
                index=len(self._events),
                type=kind,
                process=process,
                f=(f or "") if started is None else started.f,
                key=key if started is None else started.key,
                value=value,
                time=self._clock(),
            )
            if kind == OpType.INVOKE:
                self._pending[process] = event
            self._events.append(event)
            return event


HistoryLike = History | Iterable[Event] | Iterable[Operation]


def as_operations(history: HistoryLike) -> list[Operation]:
    """Accept a :class:`History`, a list of events or a list of operations."""
    if isinstance(history, History):
        return history.operations()
    items = list(history)
    if all(isinstance(item, Operation) for item in items):
        operations: list[Operation] = items  # type: ignore[assignment]
        if len({o.index for o in operations}) != len(operations):  # hand-built: number them in order
            operations = [replace(o, index=i) for i, o in enumerate(operations)]
        return operations
    if all(isinstance(item, Event) for item in items):
        return pair_events(items)  # type: ignore[arg-type]
    raise HistoryError("a history must be a History, a list of Event or a list of Operation (not mixed)")
