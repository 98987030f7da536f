"""The in-process event bus of a fleet run.

The controller publishes what happens (run started, tests collected, a test started or
finished, a worker came up or went down, the run finished); the terminal display, the store
writer, CI output and the live dashboard subscribe. Events are small frozen dataclasses with
plain values, so a subscriber can hand them to another thread or serialize them as JSON
(:func:`to_json`).

A subscriber that raises never breaks the run: it is unsubscribed, and the error is kept in
:attr:`EventBus.errors` (the controller reports them at the end). Publishing costs one dict
lookup when nobody listens to an event type, so the controller may call :meth:`EventBus.wants`
before building an event on a hot path.

Nothing here imports pytest.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    time: float
    workers: int
    backend: str
    args: tuple[str, ...] = ()
    rootdir: str = ""


@dataclass(frozen=True, slots=True)
class Collected:
    run_id: str
    total: int  # tests that will be scheduled
    deselected: int
    seconds: float  # collection time
    nodeids: tuple[str, ...] = ()
    # Estimated duration per node id (history), where the scheduler has one.
    estimates: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkerUp:
    worker_id: str
    pid: int | None
    host: str
    node: str | None = None  # Ray node id
    capabilities: dict[str, Any] = field(default_factory=dict)
    replacement: bool = False


@dataclass(frozen=True, slots=True)
class WorkerDown:
    worker_id: str
    reason: str  # "exited normally", "killed by signal 9", ...


@dataclass(frozen=True, slots=True)
class TestStarted:
    __test__ = False  # not a pytest test class

    nodeid: str
    worker_id: str
    time: float
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class TestFinished:
    """One attempt ended. ``final`` is False for an attempt that will be retried."""

    __test__ = False

    nodeid: str
    outcome: str
    worker_id: str | None
    duration: float
    attempt: int = 1
    final: bool = True
    flaky: bool = False
    message: str | None = None
    failure_text: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    time: float
    exit_code: int
    status: str  # "finished" | "interrupted"
    counts: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0


Event: TypeAlias = RunStarted | Collected | WorkerUp | WorkerDown | TestStarted | TestFinished | RunFinished
EVENT_TYPES: tuple[type[Any], ...] = (
    RunStarted,
    Collected,
    WorkerUp,
    WorkerDown,
    TestStarted,
    TestFinished,
    RunFinished,
)
Handler: TypeAlias = Callable[[Any], None]


def to_json(event: Event) -> dict[str, Any]:
    """The event as a JSON-able dict with its type name under ``"type"``."""
    data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    data["type"] = type(event).__name__
    if "nodeids" in data:
        data["nodeids"] = list(data["nodeids"])
    if "args" in data:
        data["args"] = list(data["args"])
    return data


class EventBus:
    """Synchronous publish/subscribe by event type.

    Handlers run in the publishing thread, in subscription order; a handler that must not
    slow the run (a web page, a network call) queues the event and returns. ``errors`` holds
    ``(handler name, exception text)`` for each handler that raised and was dropped.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Handler]] = {}
        self._lock = threading.Lock()
        self.errors: list[tuple[str, str]] = []

    def subscribe(self, handler: Handler, *types: type[Any]) -> Callable[[], None]:
        """Call ``handler(event)`` for events of ``types`` (all types when none given).

        Returns a function that unsubscribes it.
        """
        chosen = types or EVENT_TYPES
        for t in chosen:
            if t not in EVENT_TYPES:
                raise TypeError(f"not an event type: {t!r}")
        with self._lock:
            for t in chosen:
                # Copy on write: publish iterates a list nobody mutates.
                self._handlers[t] = [*self._handlers.get(t, []), handler]

        def unsubscribe() -> None:
            self._remove(handler, chosen)

        return unsubscribe

    def _remove(self, handler: Handler, types: tuple[type[Any], ...]) -> None:
        with self._lock:
            for t in types:
                rest = [h for h in self._handlers.get(t, []) if h is not handler]
                if rest:
                    self._handlers[t] = rest
                else:
                    self._handlers.pop(t, None)

    def wants(self, event_type: type[Any]) -> bool:
        """True when someone listens to ``event_type`` (cheap; for hot paths)."""
        return event_type in self._handlers

    def publish(self, event: Event) -> None:
        handlers = self._handlers.get(type(event))
        if not handlers:
            return
        for handler in handlers:
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - a subscriber never breaks the run
                name = getattr(handler, "__qualname__", None) or repr(handler)
                self.errors.append((name, f"{type(exc).__name__}: {exc}"))
                self._remove(handler, EVENT_TYPES)
