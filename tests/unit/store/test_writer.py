"""BatchWriter with fake sinks: batching triggers, ordering, and failures that never escape
the background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from testfleet.errors import StoreError
from testfleet.store.writer import BatchWriter, Op


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.005)


class FakeSink:
    def __init__(self) -> None:
        self.batches: list[list[Op]] = []
        self.fail_with: Exception | None = None
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, ops: list[Op]) -> None:
        with self.lock:
            self.calls += 1
            if self.fail_with is not None:
                raise self.fail_with
            self.batches.append(list(ops))

    def ops(self) -> list[Op]:
        with self.lock:
            return [op for batch in self.batches for op in batch]


def test_rows_are_written_when_the_batch_size_is_reached() -> None:
    sink = FakeSink()
    writer = BatchWriter(sink, interval=60.0, max_rows=10)
    for i in range(9):
        writer.put(("results", i), 1)
    time.sleep(0.05)  # nothing is due: the interval is a minute and the batch is not full
    assert sink.batches == []
    writer.put(("results", 9), 1)
    wait_for(lambda: len(sink.ops()) == 10)
    assert [p for _, p in sink.ops()] == list(range(10))
    writer.close()


def test_a_partial_batch_is_written_after_the_interval() -> None:
    sink = FakeSink()
    writer = BatchWriter(sink, interval=0.05, max_rows=1000)
    started = time.monotonic()
    writer.put(("results", "a"), 1)
    wait_for(lambda: sink.ops() == [("results", "a")])
    assert time.monotonic() - started >= 0.04
    writer.close()


def test_urgent_ops_are_written_at_once() -> None:
    sink = FakeSink()
    writer = BatchWriter(sink, interval=60.0, max_rows=1000)
    started = time.monotonic()
    writer.put(("run", "r1"), urgent=True)
    wait_for(lambda: sink.ops() == [("run", "r1")])
    assert time.monotonic() - started < 30.0  # long before the 60 s interval
    writer.close()


def test_flush_writes_synchronously_and_close_is_final() -> None:
    sink = FakeSink()
    writer = BatchWriter(sink, interval=60.0, max_rows=1000)
    writer.put(("results", 1), 1)
    writer.flush()
    assert sink.ops() == [("results", 1)]
    writer.put(("results", 2), 1)
    writer.close()
    assert sink.ops() == [("results", 1), ("results", 2)]
    assert writer.rows_written == 2
    writer.close()  # a second close does nothing
    with pytest.raises(StoreError, match="closed"):
        writer.put(("results", 3), 1)


def test_background_failures_are_recorded_and_retried_in_order() -> None:
    sink = FakeSink()
    sink.fail_with = OSError("No space left on device")
    writer = BatchWriter(sink, interval=0.01, max_rows=2)
    writer.put(("results", 1), 1)
    writer.put(("results", 2), 1)  # due now; the sink fails in the background thread
    wait_for(lambda: writer.last_error is not None)
    assert writer.last_error == "No space left on device"
    writer.put(("results", 3), 1)
    sink.fail_with = None  # the disk has room again: the retry stores everything, in order
    wait_for(lambda: len(sink.ops()) == 3, timeout=10.0)
    assert [p for _, p in sink.ops()] == [1, 2, 3]
    assert writer.last_error is None
    writer.close()


def test_flush_raises_once_when_the_data_cannot_be_written() -> None:
    sink = FakeSink()
    sink.fail_with = OSError("disk full")
    writer = BatchWriter(sink, interval=60.0, max_rows=1000)
    writer.put(("results", "a"), 3)
    with pytest.raises(StoreError, match=r"^disk full \(3 result rows not stored\)$"):
        writer.flush()
    writer.flush()  # reported once: the lost rows are not reported again
    sink.fail_with = None
    writer.put(("results", "b"), 1)
    writer.close()
    assert sink.ops() == [("results", "b")]


def test_rows_beyond_the_pending_cap_are_dropped_and_reported() -> None:
    sink = FakeSink()
    sink.fail_with = RuntimeError("locked")
    writer = BatchWriter(sink, interval=60.0, max_rows=1000, max_pending_rows=5)
    writer.put(("results", "a"), 4)
    writer.put(("results", "b"), 4)  # over the cap: dropped at once
    sink.fail_with = None
    with pytest.raises(StoreError, match=r"\(4 result rows not stored\)"):
        writer.flush()
    assert sink.ops() == [("results", "a")]
    writer.close()
