"""An in-memory store: the backend for unit tests of other components and for ``--db none``."""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable, Iterable, Sequence

from testfleet.errors import StoreError
from testfleet.model import (
    FAILURE_VALUES,
    Outcome,
    RunInfo,
    RunStatus,
    TestResult,
    WorkerInfo,
    outcome_counts,
)
from testfleet.store.bounds import bound_result, needs_bounds
from testfleet.store.history import (
    RunStats,
    TestSeries,
    eligible,
    ever_failed,
    spread_at_least,
    stats_from_results,
)
from testfleet.store.ids import match_run_id

# Outcomes whose duration says how long a test takes (history for the scheduler).
TIMED_OUTCOMES = frozenset({Outcome.PASSED.value, Outcome.FAILED.value})
# Final outcomes that say the test did not run, so they are no history of its outcome.
DID_NOT_RUN = frozenset({Outcome.NOT_RUN.value, Outcome.UNSCHEDULABLE.value})


def result_order(r: TestResult) -> tuple[float, str, int]:
    """The order ``results()`` returns: by start time (unknown last), nodeid, attempt."""
    return (r.start if r.start is not None else float("inf"), r.nodeid, r.attempt)


def completed_with_parents(
    run_id: str,
    include_parents: bool,
    get_run: Callable[[str], RunInfo | None],
    completed: Callable[[str], set[str]],
) -> set[str]:
    """Union of ``completed(id)`` over ``run_id`` and, optionally, its chain of parent runs."""
    done: set[str] = set()
    seen: set[str] = set()
    current: str | None = run_id
    while current is not None and current not in seen:
        seen.add(current)
        done |= completed(current)
        if not include_parents:
            break
        run = get_run(current)
        current = run.parent_run if run is not None else None
    return done


class MemoryStore:
    """Keeps everything in lists; writes are immediate, so ``flush`` has nothing to do."""

    def __init__(self) -> None:
        self._runs: dict[str, RunInfo] = {}
        self._workers: list[WorkerInfo] = []
        self._results: list[TestResult] = []
        self._closed = False

    # --- writing ---
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the results store is closed")

    def start_run(self, run: RunInfo) -> None:
        self._check_open()
        self._runs[run.run_id] = copy.deepcopy(run)

    def finish_run(
        self, run_id: str, status: str, end: float, exit_code: int | None, counts: dict[str, int]
    ) -> None:
        self._check_open()
        run = self._runs.get(run_id)
        if run is None:
            raise StoreError(f"cannot finish run {run_id!r}: it was never started")
        run.status, run.end, run.exit_code, run.counts = status, end, exit_code, dict(counts)
        run.collected = sum(counts.values())  # the final counts add up to the number collected

    def add_workers(self, workers: Iterable[WorkerInfo]) -> None:
        self._check_open()
        self._workers.extend(copy.deepcopy(w) for w in workers)

    def add_results(self, results: Iterable[TestResult]) -> None:
        """Keep ``results`` (bounded; do not change them afterwards: reads return copies)."""
        self._check_open()
        self._results.extend(bound_result(r) if needs_bounds(r) else r for r in results)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._closed = True

    # --- reading ---
    def _with_live_counts(self, run: RunInfo) -> RunInfo:
        run = copy.deepcopy(run)
        if run.status == RunStatus.RUNNING.value and not run.counts:
            run.counts = outcome_counts(r for r in self._results if r.run_id == run.run_id)
        return run

    def runs(self, limit: int = 20) -> list[RunInfo]:
        ordered = sorted(self._runs.values(), key=lambda r: r.start, reverse=True)
        return [self._with_live_counts(r) for r in ordered[:limit]]

    def get_run(self, run_id: str) -> RunInfo | None:
        found = match_run_id(run_id, self._runs)
        return self._with_live_counts(self._runs[found]) if found else None

    def latest_run_id(self) -> str | None:
        if not self._runs:
            return None
        return max(self._runs.values(), key=lambda r: r.start).run_id

    def results(self, run_id: str) -> list[TestResult]:
        return sorted((copy.copy(r) for r in self._results if r.run_id == run_id), key=result_order)

    def workers(self, run_id: str) -> list[WorkerInfo]:
        return [copy.deepcopy(w) for w in self._workers if w.run_id == run_id]

    def durations(self, nodeids: Sequence[str] | None = None, last_runs: int = 5) -> dict[str, float]:
        wanted = set(nodeids) if nodeids is not None else None
        history: dict[str, list[TestResult]] = {}
        for r in self._results:
            if r.outcome in TIMED_OUTCOMES and (wanted is None or r.nodeid in wanted):
                history.setdefault(r.nodeid, []).append(r)
        out = {}
        for nodeid, attempts in history.items():
            attempts.sort(key=lambda r: r.start if r.start is not None else float("-inf"), reverse=True)
            out[nodeid] = statistics.median(r.duration for r in attempts[:last_runs])
        return out

    def last_outcomes(self, nodeids: Sequence[str] | None = None) -> dict[str, str]:
        wanted = set(nodeids) if nodeids is not None else None
        best: dict[str, tuple[float, int, str]] = {}
        for r in self._results:
            if not r.final or r.outcome in DID_NOT_RUN:
                continue
            if wanted is not None and r.nodeid not in wanted:
                continue
            run = self._runs.get(r.run_id)
            key = (run.start if run else float("-inf"), r.attempt, r.outcome)
            if r.nodeid not in best or key[:2] >= best[r.nodeid][:2]:
                best[r.nodeid] = key
        return {nodeid: key[2] for nodeid, key in best.items()}

    def completed_nodeids(self, run_id: str, include_parents: bool = True) -> set[str]:
        def completed(rid: str) -> set[str]:
            return {
                r.nodeid
                for r in self._results
                if r.run_id == rid and r.final and r.outcome != Outcome.NOT_RUN.value
            }

        return completed_with_parents(run_id, include_parents, self.get_run, completed)

    # --- history ---
    def run_stats(
        self, limit: int = 30, include_partial: bool = False, before: float = math.inf
    ) -> list[RunStats]:
        runs = (
            sorted(
                (r for r in self._runs.values() if eligible(r, include_partial) and r.start < before),
                key=lambda r: (r.start, r.run_id),
            )[-limit:]
            if limit > 0
            else []
        )
        return [stats_from_results(r, [x for x in self._results if x.run_id == r.run_id]) for r in runs]

    def test_series(
        self,
        run_ids: Sequence[str],
        nodeids: Sequence[str] | None = None,
        failing_only: bool = False,
        spread: tuple[float, float] | None = None,
    ) -> list[TestSeries]:
        index = {rid: k for k, rid in enumerate(run_ids)}
        wanted = set(nodeids) if nodeids is not None else None
        final: dict[str, dict[int, TestResult]] = {}
        for r in self._results:
            if r.final and r.run_id in index and (wanted is None or r.nodeid in wanted):
                final.setdefault(r.nodeid, {})[index[r.run_id]] = r
        out = []
        for nodeid in sorted(final):
            by_run = sorted(final[nodeid].items())
            if failing_only and not ever_failed(
                [r.outcome for _, r in by_run], [bool(r.flaky) for _, r in by_run]
            ):
                continue
            if spread is not None and not spread_at_least(
                [r.outcome for _, r in by_run], [r.duration for _, r in by_run], spread
            ):
                continue
            out.append(
                TestSeries(
                    nodeid,
                    tuple(k for k, _ in by_run),
                    tuple(r.outcome for _, r in by_run),
                    tuple(r.duration for _, r in by_run),
                    tuple(bool(r.flaky) for _, r in by_run),
                )
            )
        return out

    def failure_messages(self, run_ids: Sequence[str]) -> list[tuple[str, str | None]]:
        wanted = set(run_ids)
        return sorted(
            {
                (r.outcome, r.message)
                for r in self._results
                if r.final and r.run_id in wanted and r.outcome in FAILURE_VALUES
            },
            key=lambda x: (x[0], x[1] or ""),
        )
