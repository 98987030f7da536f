"""Batched, background writing for stores whose writes are expensive one by one.

The controller's thread only appends operations to a buffer. A daemon thread hands the buffer to
``sink`` when ``max_rows`` result rows are waiting, when the oldest waiting operation is
``interval`` seconds old, or at once for an ``urgent`` operation (a run starting). ``flush``
and ``close`` do the same synchronously.

A failing ``sink`` never raises in the background: the error is recorded, the operations stay
buffered (in order) and the thread retries with back-off. ``flush``/``close`` try once more and,
if that fails too, raise :class:`StoreError` once, dropping what could not be written, so the
caller can say "results not stored: <reason>" and carry on. ``sink`` must apply a batch
atomically (all or nothing), which makes retrying safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from testfleet.errors import StoreError

Op = tuple[str, Any]  # (kind, payload), interpreted by the sink


def describe(exc: BaseException) -> str:
    """A one-line reason for ``exc``."""
    if isinstance(exc, StoreError):
        return str(exc)
    return " ".join(str(exc).split()) or type(exc).__name__


class BatchWriter:
    """Buffers operations and writes them in batches from a background thread.

    Attributes: ``batches`` and ``rows_written`` count successful sink calls and result rows;
    ``last_error`` is the reason of the latest failed attempt (``None`` once one succeeds).
    """

    def __init__(
        self,
        sink: Callable[[list[Op]], None],
        *,
        interval: float = 0.5,
        max_rows: int = 2000,
        max_pending_rows: int = 1_000_000,
        name: str = "testfleet-store-writer",
    ) -> None:
        self._sink = sink
        self.interval = interval
        self.max_rows = max_rows
        self.max_pending_rows = max_pending_rows
        self._cv = threading.Condition()
        self._sink_lock = threading.Lock()  # one batch at a time, in order
        self._pending: list[Op] = []
        self._pending_rows = 0
        self._oldest: float | None = None
        self._urgent = False
        self._closing = False
        self._dropped = 0
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self.last_error: str | None = None
        self.batches = 0
        self.rows_written = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def put(self, op: Op, rows: int = 0, *, urgent: bool = False) -> None:
        """Queue ``op`` (carrying ``rows`` result rows). Never blocks on I/O; raises only after
        :meth:`close`."""
        with self._cv:
            if self._closing:
                raise StoreError("the results store is closed")
            if rows and self._pending_rows + rows > self.max_pending_rows:
                self._dropped += rows  # the sink has been failing for a long time
                return
            self._pending.append(op)
            self._pending_rows += rows
            if self._oldest is None:
                self._oldest = time.monotonic()
            if urgent or self._pending_rows >= self.max_rows:
                self._urgent = self._urgent or urgent
                self._cv.notify()

    def _due(self, now: float) -> bool:
        if not self._pending or now < self._retry_at:
            return False
        if self._urgent or self._closing or self._pending_rows >= self.max_rows:
            return True
        return self._oldest is not None and now - self._oldest >= self.interval

    def _take(self) -> tuple[list[Op], int]:
        ops, rows = self._pending, self._pending_rows
        self._pending, self._pending_rows, self._oldest, self._urgent = [], 0, None, False
        return ops, rows

    def _write(self, ops: list[Op], rows: int) -> BaseException | None:
        """Hand ``ops`` to the sink; on failure put them back in front and return the error."""
        try:
            self._sink(ops)
        except Exception as exc:  # noqa: BLE001 - anything the sink raises is a write failure
            with self._cv:
                self._pending[:0] = ops
                self._pending_rows += rows
                if self._oldest is None:
                    self._oldest = time.monotonic()
                self.last_error = describe(exc)
                now = time.monotonic()
                self._failing_since = self._failing_since or now
                self._retry_at = now + min(max(self.interval, now - self._failing_since), 5.0)
            return exc
        with self._cv:
            self.batches += 1
            self.rows_written += rows
            self.last_error, self._failing_since, self._retry_at = None, None, 0.0
        return None

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._due(time.monotonic()):
                    if self._closing and not self._pending:
                        return
                    self._cv.wait(timeout=self._wait_time())
            with self._sink_lock:
                with self._cv:
                    ops, rows = self._take()
                if ops:
                    self._write(ops, rows)

    def _wait_time(self) -> float:
        now = time.monotonic()
        if now < self._retry_at:
            return self._retry_at - now
        if self._oldest is not None:
            return max(self.interval - (now - self._oldest), 0.01)
        return self.interval

    def flush(self) -> None:
        """Write everything buffered now. Raises :class:`StoreError` (once) if it cannot."""
        with self._sink_lock:
            with self._cv:
                ops, rows = self._take()
                dropped, self._dropped = self._dropped, 0
            exc = self._write(ops, rows) if ops else None
            if exc is not None:
                with self._cv:  # give up on what failed; report it once
                    del self._pending[: len(ops)]
                    self._pending_rows -= rows
                    self._retry_at = 0.0
            if exc is None and not dropped:
                return
        lost = rows + dropped if exc is not None else dropped
        reason = describe(exc) if exc is not None else (self.last_error or "the store was failing")
        raise StoreError(f"{reason} ({lost} result rows not stored)")

    def close(self) -> None:
        """Flush, stop the thread; raises like :meth:`flush`. Later calls do nothing."""
        with self._cv:
            if self._closing:
                return
        try:
            self.flush()
        finally:
            with self._cv:
                self._closing = True
                self._cv.notify()
            self._thread.join(timeout=5.0)
