"""The DuckDB results store: batched background writes, short-lived file sessions.

See docs/store.md for the schema, the bounds, the batching and locking behaviour and what they
cost. Writes go through a :class:`~testfleet.store.writer.BatchWriter`; every batch and every
read is one :class:`~testfleet.store.connection.Database` session (attach, work, detach), so
other processes can read the file while a run writes it and two runs can share a file.
"""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from testfleet.errors import StoreError
from testfleet.model import FAILURE_VALUES, Outcome, RunInfo, RunStatus, TestResult, WorkerInfo
from testfleet.store import history, queries
from testfleet.store.bounds import bound_result, needs_bounds
from testfleet.store.connection import Database
from testfleet.store.ids import match_run_id
from testfleet.store.liveness import pid_alive, this_host
from testfleet.store.memory import DID_NOT_RUN, TIMED_OUTCOMES, completed_with_parents
from testfleet.store.schema import SCHEMA_VERSION, SchemaError, current_version, migrate, pending
from testfleet.store.writer import BatchWriter, Op


def _text(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _result_row(r: TestResult) -> list[Any]:
    if needs_bounds(r):  # most results carry no text: only the others pay for the bounds
        r = bound_result(r)
    return [
        r.run_id,
        r.nodeid,
        _text(r.outcome),
        r.attempt,
        r.worker,
        r.start,
        r.setup_duration,
        r.call_duration,
        r.teardown_duration,
        r.message,
        r.failure_text,
        r.stdout,
        r.stderr,
        bool(r.flaky),
        bool(r.final),
    ]


class DuckDBStore:
    """A results store in one DuckDB file.

    ``add_results`` only buffers; a background thread writes a batch every ``flush_interval``
    seconds or every ``batch_rows`` rows. Reads first write what is buffered, so they see every
    earlier write. ``readonly`` stores refuse writes and attach the file read-only.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        lock_timeout: float = 10.0,
        flush_interval: float = 2.0,
        batch_rows: int = 5000,
    ) -> None:
        self.path = Path(path).absolute()
        self.readonly = readonly
        self._db = Database(self.path, lock_timeout=lock_timeout, threads=None if readonly else 1)
        self._closed = False
        self.interrupted_runs: list[str] = []  # runs this open marked interrupted
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise
        self._writer = (
            None if readonly else BatchWriter(self._apply, interval=flush_interval, max_rows=batch_rows)
        )

    # --- opening ---
    def _prepare(self) -> None:
        """Migrate an older file and mark runs whose controller died as interrupted."""
        version = SCHEMA_VERSION
        try:
            if self.readonly:
                with self._db.session(write=False) as conn:
                    version = current_version(conn)
                    stale = bool(self._stale_runs(conn))
                pending(version)  # refuses a newer file
                if version == SCHEMA_VERSION and not stale:
                    return
            try:
                with self._db.session(write=True) as conn:
                    migrate(conn)
                    self._recover(conn)
            except StoreError as exc:
                if not self.readonly:
                    raise
                if version != SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} needs an upgrade from schema version {version} "
                        f"to {SCHEMA_VERSION} but cannot be written: {exc}"
                    ) from None
                # A file we may not write: show its stale runs as they are.
        except SchemaError as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def _stale_runs(self, conn: Any) -> list[tuple[str, int, float]]:
        if current_version(conn) == 0:
            return []
        rows = conn.execute(queries.RUNNING_HERE, [RunStatus.RUNNING.value, this_host()]).fetchall()
        return [
            (rid, pid, start)
            for rid, pid, start in rows
            if pid is not None and not pid_alive(int(pid), started_by=start)
        ]

    def _recover(self, conn: Any) -> None:
        for run_id, _pid, _start in self._stale_runs(conn):
            counts = dict(conn.execute(queries.FINAL_COUNTS, [run_id]).fetchall())
            conn.execute(
                queries.MARK_INTERRUPTED,
                [RunStatus.INTERRUPTED.value, run_id, json.dumps(counts), run_id, RunStatus.RUNNING.value],
            )
            self.interrupted_runs.append(run_id)

    # --- writing ---
    def _put(self, op: Op, rows: int = 0, *, urgent: bool = False) -> None:
        if self._writer is None:
            raise StoreError(f"{self.path} was opened read-only")
        self._writer.put(op, rows, urgent=urgent)

    def start_run(self, run: RunInfo) -> None:
        self._put(("run", run), urgent=True)

    def finish_run(
        self, run_id: str, status: str, end: float, exit_code: int | None, counts: dict[str, int]
    ) -> None:
        self._put(("finish", (run_id, _text(status), end, exit_code, dict(counts))))

    def add_workers(self, workers: Iterable[WorkerInfo]) -> None:
        workers = list(workers)
        if workers:
            self._put(("workers", workers))

    def add_results(self, results: Iterable[TestResult]) -> None:
        """Buffer ``results`` (do not change them afterwards); the writer thread stores them."""
        batch = list(results)
        if batch:
            self._put(("results", batch), len(batch))

    def _apply(self, ops: list[Op]) -> None:
        """Write ``ops`` in one transaction (the writer's sink)."""
        with self._db.session(write=True) as conn:
            conn.execute("BEGIN TRANSACTION")
            rows: list[list[Any]] = []
            for kind, payload in ops:
                if kind == "results":
                    rows.extend(_result_row(r) for r in payload)
                    continue
                if rows:  # keep the order of operations
                    conn.execute(queries.INSERT_RESULTS, [json.dumps(rows)])
                    rows = []
                if kind == "run":
                    conn.execute(queries.UPSERT_RUN, queries.run_params(payload))
                elif kind == "finish":
                    run_id, status, end, exit_code, counts = payload
                    conn.execute(
                        queries.FINISH_RUN,
                        [status, end, exit_code, json.dumps(counts), sum(counts.values()), run_id],
                    )
                elif kind == "workers":
                    conn.executemany(queries.INSERT_WORKER, [queries.worker_params(w) for w in payload])
            if rows:
                conn.execute(queries.INSERT_RESULTS, [json.dumps(rows)])
            conn.execute("COMMIT")

    def flush(self) -> None:
        """Write what is buffered now; raises :class:`StoreError` once if it cannot."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            self._db.close()

    @property
    def last_error(self) -> str | None:
        """Why the latest background write failed (``None`` when the latest one succeeded)."""
        return self._writer.last_error if self._writer else None

    # --- reading ---
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._closed:
            raise StoreError("the results store is closed")
        if self._writer is not None:
            self._writer.flush()
        with self._db.session(write=False) as conn:
            return list(conn.execute(sql, list(params)).fetchall())

    def _runs_from_rows(self, rows: list[tuple[Any, ...]]) -> list[RunInfo]:
        runs = [queries.run_from_row(row) for row in rows]
        live = [r for r in runs if r.status == RunStatus.RUNNING.value and not r.counts]
        for run in live:
            run.counts = dict(self._read(queries.FINAL_COUNTS, [run.run_id]))
        return runs

    def runs(self, limit: int = 20) -> list[RunInfo]:
        return self._runs_from_rows(self._read(queries.RUNS, [limit]))

    def get_run(self, run_id: str) -> RunInfo | None:
        ids = [row[0] for row in self._read(queries.RUN_IDS_WITH_PREFIX, [run_id.strip()])]
        found = match_run_id(run_id, ids)
        if found is None:
            return None
        return self._runs_from_rows(self._read(queries.RUN_BY_ID, [found]))[0]

    def latest_run_id(self) -> str | None:
        rows = self._read(queries.LATEST_RUN)
        return rows[0][0] if rows else None

    def results(self, run_id: str) -> list[TestResult]:
        return [queries.result_from_row(row) for row in self._read(queries.RESULTS, [run_id])]

    def workers(self, run_id: str) -> list[WorkerInfo]:
        return [queries.worker_from_row(row) for row in self._read(queries.WORKERS, [run_id])]

    def durations(self, nodeids: Sequence[str] | None = None, last_runs: int = 5) -> dict[str, float]:
        sql = queries.durations_sql(filtered=nodeids is not None)
        params: list[Any] = [sorted(TIMED_OUTCOMES)]
        if nodeids is not None:
            params.append(list(nodeids))
        params.append(last_runs)
        return {nodeid: float(d) for nodeid, d in self._read(sql, params)}

    def last_outcomes(self, nodeids: Sequence[str] | None = None) -> dict[str, str]:
        sql = queries.last_outcomes_sql(filtered=nodeids is not None)
        params: list[Any] = [sorted(DID_NOT_RUN)]
        if nodeids is not None:
            params.append(list(nodeids))
        return dict(self._read(sql, params))

    def completed_nodeids(self, run_id: str, include_parents: bool = True) -> set[str]:
        def completed(rid: str) -> set[str]:
            return {row[0] for row in self._read(queries.COMPLETED, [rid, Outcome.NOT_RUN.value])}

        return completed_with_parents(run_id, include_parents, self.get_run, completed)

    # --- history ---
    def run_stats(
        self, limit: int = 30, include_partial: bool = False, before: float = math.inf
    ) -> list[history.RunStats]:
        rows = self._read(
            history.RUN_STATS,
            [include_partial, before, limit, sorted(FAILURE_VALUES), sorted(history.SKIPPED)],
        )
        return [history.run_stats_from_row(row) for row in rows]

    def test_series(
        self,
        run_ids: Sequence[str],
        nodeids: Sequence[str] | None = None,
        failing_only: bool = False,
        spread: tuple[float, float] | None = None,
    ) -> list[history.TestSeries]:
        if not run_ids:
            return []
        params: list[Any] = [list(run_ids), list(range(len(run_ids)))]
        if nodeids is not None:
            params.append(list(nodeids))
        sql = history.test_series_sql(filtered=nodeids is not None, failing_only=failing_only, spread=spread)
        rows = self._read(sql, params)
        return [history.series_from_row(row) for row in rows]

    def failure_messages(self, run_ids: Sequence[str]) -> list[tuple[str, str | None]]:
        if not run_ids:
            return []
        rows = self._read(history.FAILURE_MESSAGES, [list(run_ids), sorted(FAILURE_VALUES)])
        return [(outcome, message) for outcome, message in rows]
