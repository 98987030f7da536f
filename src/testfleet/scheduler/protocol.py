"""The scheduler protocol. Schedulers are pure logic: no I/O, no processes, no clocks.

The controller tells the scheduler which workers exist and what happened; the scheduler
answers one question: which test should this worker run next?
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# The value types live in model.py (every layer uses them); re-exported here (cli edit).
from testfleet.model import TestSpec, WorkerSpec

__all__ = ["Groups", "Scheduler", "TestSpec", "WorkerSpec"]

# --collectors K: each test's group (the collector that collected it), and worker slots per group.
Groups = tuple[Sequence[int], Sequence[int]] | None


class Scheduler(Protocol):
    def add_worker(self, worker: WorkerSpec) -> None: ...

    def remove_worker(self, worker_id: str) -> None: ...

    def next_for(self, worker_id: str) -> int | None:
        """The next test for this worker, or None if there is nothing it may run now."""
        ...

    def started(self, worker_id: str, index: int) -> None: ...

    def finished(self, index: int, outcome: str) -> list[tuple[int, str]]:
        """Record a final outcome; returns tests that must now be skipped, with a reason."""
        ...

    def done(self, worker_id: str, index: int) -> None:
        """An attempt of ``index`` ended on ``worker_id`` (final or not)."""
        ...

    def requeue(self, indices: Sequence[int], avoid: str | None = None) -> None:
        """Put tests back (their worker died before running them, or a retry that should
        avoid the worker ``avoid``)."""
        ...

    def pending(self) -> int:
        """Tests not yet handed to any worker."""
        ...

    def drain(self) -> list[int]:
        """Remove and return every test not yet handed out (run stopped)."""
        ...

    def missing_everywhere(self, index: int) -> str | None:
        """Why no current worker can ever run ``index`` (None if one can)."""
        ...
