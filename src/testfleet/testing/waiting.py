"""Wait for a condition with a deadline instead of sleeping: ``eventually(lambda: node.ready())``.

A check passes when it returns a truthy value without raising. An :class:`AssertionError` (or any type
in ``retry_on``) means "not yet"; any other exception is a bug in the check and propagates at once.
A check written with ``assert`` statements must end with ``return True``: ``None`` means "not yet", so
``eventually(lambda: pattern.search(log()))`` waits for a match instead of passing on ``None``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from testfleet.testing.errors import ToolkitUsageError

T = TypeVar("T")

_MAX_REPR = 300


class _Attempts:
    """The bookkeeping of one wait: tries, the last exception or value, and the failure message."""

    def __init__(self, check: object, timeout: float, interval: float, message: str | None) -> None:
        if timeout < 0:
            raise ToolkitUsageError(f"eventually(timeout={timeout!r}): timeout must be >= 0 seconds")
        if interval <= 0:
            raise ToolkitUsageError(f"eventually(interval={interval!r}): interval must be > 0 seconds")
        self.check = check
        self.timeout = timeout
        self.interval = interval
        self.message = message
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.tries = 0
        self.last_error: BaseException | None = None
        self.last_value: object = None
        self.raised_ever = False

    def record_value(self, value: object) -> None:
        self.tries += 1
        self.last_value = value
        self.last_error = None

    def record_error(self, error: BaseException) -> None:
        self.tries += 1
        self.last_error = error
        self.raised_ever = True

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def pause(self) -> float:
        """How long to sleep before the next try; <= 0 means the deadline has passed."""
        remaining = self.remaining()
        return min(self.interval, remaining) if remaining > 0 else 0.0

    def failure(self, note: str | None = None) -> AssertionError:
        elapsed = time.monotonic() - self.started
        name = getattr(self.check, "__qualname__", repr(self.check))
        head = f"{self.message}: " if self.message else ""
        lines = [
            f"{head}{name} did not pass within {self.timeout:.2f}s "
            f"({self.tries} {'try' if self.tries == 1 else 'tries'} in {elapsed:.2f}s)"
        ]
        if note:
            lines.append(note)
        if self.last_error is not None:
            lines.append(f"last exception: {type(self.last_error).__name__}: {self.last_error}")
        else:
            lines.append(f"last value: {_short_repr(self.last_value)}")
            if self.last_value is None and not self.raised_ever:
                lines.append("(a check that uses assert statements must end with `return True`)")
        error = AssertionError("\n".join(lines))
        error.__cause__ = self.last_error
        return error


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def eventually(
    check: Callable[[], T],
    timeout: float = 5.0,
    interval: float = 0.01,
    message: str | None = None,
    *,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns a truthy value; return that value.

    On timeout raise an :class:`AssertionError` naming the check, the number of tries, the time spent
    and the last exception (chained as ``__cause__``) or the last value. ``check`` runs at least once,
    even with ``timeout=0``.
    """
    attempts = _Attempts(check, timeout, interval, message)
    while True:
        try:
            value = check()
        except retry_on as error:
            attempts.record_error(error)
        else:
            attempts.record_value(value)
            if value:
                return value
        pause = attempts.pause()
        if pause <= 0:
            raise attempts.failure()
        time.sleep(pause)


async def eventually_async(
    check: Callable[[], Awaitable[T] | T],
    timeout: float = 5.0,
    interval: float = 0.01,
    message: str | None = None,
    *,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """The asyncio twin of :func:`eventually`: ``check`` may be a coroutine function or a plain one.

    Sleeps with ``asyncio.sleep`` so other tasks run between tries. A single try that is still running
    at the deadline is cancelled and reported as such.
    """
    attempts = _Attempts(check, timeout, interval, message)
    while True:
        timed_out = False
        try:
            result: Any = check()
            if inspect.isawaitable(result):
                budget = max(attempts.remaining(), attempts.interval)
                try:
                    result = await asyncio.wait_for(result, timeout=budget)
                except TimeoutError:
                    if attempts.remaining() > 0:
                        raise  # the check's own TimeoutError, not our deadline
                    timed_out = True
        except retry_on as error:
            attempts.record_error(error)
        else:
            if timed_out:
                attempts.tries += 1
                raise attempts.failure("the last try was still running at the deadline and was cancelled")
            attempts.record_value(result)
            if result:
                return result  # type: ignore[no-any-return]
        pause = attempts.pause()
        if pause <= 0:
            raise attempts.failure()
        await asyncio.sleep(pause)
