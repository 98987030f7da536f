"""The storage protocol: the controller writes through it, the CLI and analysis read through it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

from testfleet.model import RunInfo, TestResult, WorkerInfo
from testfleet.store.history import RunStats, TestSeries


class Store(Protocol):
    """A results store. Writes may be buffered; ``flush`` makes them durable."""

    def start_run(self, run: RunInfo) -> None: ...

    def finish_run(
        self, run_id: str, status: str, end: float, exit_code: int | None, counts: dict[str, int]
    ) -> None: ...

    def add_workers(self, workers: Iterable[WorkerInfo]) -> None: ...

    def add_results(self, results: Iterable[TestResult]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    # --- reading ---
    def runs(self, limit: int = 20) -> list[RunInfo]: ...

    def get_run(self, run_id: str) -> RunInfo | None: ...

    def latest_run_id(self) -> str | None: ...

    def results(self, run_id: str) -> list[TestResult]: ...

    def workers(self, run_id: str) -> list[WorkerInfo]: ...

    def durations(self, nodeids: Sequence[str] | None = None, last_runs: int = 5) -> dict[str, float]:
        """Median call+setup+teardown duration of each test over its last ``last_runs`` finished
        attempts that passed or failed (history for the scheduler)."""
        ...

    def last_outcomes(self, nodeids: Sequence[str] | None = None) -> dict[str, str]:
        """Final outcome of each test in the most recent run where it ran."""
        ...

    def completed_nodeids(self, run_id: str, include_parents: bool = True) -> set[str]:
        """Nodeids that got a final outcome other than ``not_run`` in ``run_id`` and, with
        ``include_parents``, in the runs it continues (``parent_run`` links): what a
        ``--resume`` of that run does not need to run again."""
        ...

    # --- history (docs/analysis.md) ---
    def run_stats(
        self, limit: int = 30, include_partial: bool = False, before: float = math.inf
    ) -> list[RunStats]:
        """Aggregates of the newest ``limit`` runs started before ``before`` that count in
        history statistics (finished, whole-suite runs; also partial and interrupted ones with
        ``include_partial``), oldest first."""
        ...

    def test_series(
        self,
        run_ids: Sequence[str],
        nodeids: Sequence[str] | None = None,
        failing_only: bool = False,
        spread: tuple[float, float] | None = None,
    ) -> list[TestSeries]:
        """Each test's final outcome, duration and retried flag in the runs ``run_ids`` (a
        window, oldest first; :attr:`TestSeries.runs` index into it), by nodeid. With
        ``failing_only``, only tests that failed or passed on a retry in the window; with
        ``spread=(seconds, ratio)``, only tests whose passing durations span at least
        ``seconds`` and ``ratio`` times (candidates for a duration step)."""
        ...

    def failure_messages(self, run_ids: Sequence[str]) -> list[tuple[str, str | None]]:
        """Distinct (outcome, message) of the final failing results of ``run_ids``."""
        ...
