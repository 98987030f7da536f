"""SQL of the DuckDB store and the conversions between rows and model objects."""

from __future__ import annotations

import json
from typing import Any

from testfleet.model import RunInfo, TestResult, WorkerInfo

RUN_COLUMNS = (
    'id, start, "end", args, rootdir, git_commit, git_branch, host, pid, status, '
    "exit_code, collected, workers, backend, parent_run, counts, partial"
)
RESULT_COLUMNS = (
    "run_id, nodeid, outcome, attempt, worker, start, setup_duration, call_duration, "
    "teardown_duration, message, failure_text, stdout, stderr, flaky, final"
)
_RESULT_TYPES = [
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "INTEGER",
    "VARCHAR",
    "DOUBLE",
    "DOUBLE",
    "DOUBLE",
    "DOUBLE",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "BOOLEAN",
    "BOOLEAN",
]

# The fast path for many rows: the whole batch is one JSON array of row arrays, a single
# parameter that DuckDB parses and casts in C++ (one `executemany` round trip per row is ~50x
# slower, and binding thousands of separate parameters is also slow).
INSERT_RESULTS = (
    f"INSERT INTO results ({RESULT_COLUMNS}) SELECT "
    + ", ".join(f"r[{i + 1}]::{t}" for i, t in enumerate(_RESULT_TYPES))
    + " FROM (SELECT unnest(from_json(?, '[[\"VARCHAR\"]]')) AS r)"
)
UPSERT_RUN = f"INSERT OR REPLACE INTO runs ({RUN_COLUMNS}) VALUES ({', '.join('?' * 17)})"
# collected: the final counts add up to the number of tests collected.
FINISH_RUN = 'UPDATE runs SET status = ?, "end" = ?, exit_code = ?, counts = ?, collected = ? WHERE id = ?'
INSERT_WORKER = (
    "INSERT INTO workers (run_id, worker_id, host, pid, node, capabilities) VALUES (?, ?, ?, ?, ?, ?)"
)

RUNS = f"SELECT {RUN_COLUMNS} FROM runs ORDER BY start DESC LIMIT ?"
RUN_BY_ID = f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"
RUN_IDS_WITH_PREFIX = "SELECT id FROM runs WHERE starts_with(id, ?)"
LATEST_RUN = "SELECT id FROM runs ORDER BY start DESC LIMIT 1"
RESULTS = f"SELECT {RESULT_COLUMNS} FROM results WHERE run_id = ? ORDER BY start NULLS LAST, nodeid, attempt"
WORKERS = (
    "SELECT run_id, worker_id, host, pid, node, capabilities FROM workers WHERE run_id = ? ORDER BY rowid"
)
FINAL_COUNTS = "SELECT outcome, count(*) FROM results WHERE run_id = ? AND final GROUP BY outcome"
COMPLETED = "SELECT DISTINCT nodeid FROM results WHERE run_id = ? AND final AND outcome <> ?"
RUNNING_HERE = "SELECT id, pid, start FROM runs WHERE status = ? AND host = ?"
MARK_INTERRUPTED = """
    UPDATE runs SET status = ?,
        "end" = coalesce((SELECT max(start + setup_duration + call_duration + teardown_duration)
                          FROM results WHERE run_id = ?), start),
        counts = ?
    WHERE id = ? AND status = ?"""

_NODEID_FILTER = " AND nodeid IN (SELECT unnest(?::VARCHAR[]))"


def durations_sql(*, filtered: bool) -> str:
    """Median duration over each test's last N timed attempts.
    Parameters: outcomes list, [nodeids list], N."""
    return f"""
        SELECT nodeid, median(d) FROM (
            SELECT nodeid, setup_duration + call_duration + teardown_duration AS d,
                   row_number() OVER (PARTITION BY nodeid ORDER BY start DESC NULLS LAST) AS k
            FROM results WHERE list_contains(?::VARCHAR[], outcome)
            {_NODEID_FILTER if filtered else ""}
        ) WHERE k <= ? GROUP BY nodeid"""


def last_outcomes_sql(*, filtered: bool) -> str:
    """Final outcome of each test in the latest run where it ran.
    Parameters: excluded outcomes list, [nodeids list]."""
    return f"""
        SELECT nodeid, outcome FROM (
            SELECT r.nodeid, r.outcome,
                   row_number() OVER (PARTITION BY r.nodeid
                                      ORDER BY u.start DESC NULLS LAST, r.attempt DESC) AS k
            FROM results r LEFT JOIN runs u ON u.id = r.run_id
            WHERE r.final AND NOT list_contains(?::VARCHAR[], r.outcome)
            {_NODEID_FILTER.replace("nodeid", "r.nodeid") if filtered else ""}
        ) WHERE k = 1"""


def run_params(run: RunInfo) -> list[Any]:
    return [
        run.run_id,
        run.start,
        run.end,
        json.dumps(list(run.args)),
        run.rootdir,
        run.git_commit,
        run.git_branch,
        run.host,
        run.pid,
        _value(run.status),
        run.exit_code,
        run.collected,
        run.workers,
        run.backend,
        run.parent_run,
        json.dumps(run.counts),
        bool(run.partial),
    ]


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def run_from_row(row: tuple[Any, ...]) -> RunInfo:
    (
        run_id,
        start,
        end,
        args,
        rootdir,
        commit,
        branch,
        host,
        pid,
        status,
        exit_code,
        collected,
        workers,
        backend,
        parent,
        counts,
        partial,
    ) = row
    return RunInfo(
        run_id=run_id,
        start=start,
        end=end,
        args=json.loads(args) if args else [],
        rootdir=rootdir or "",
        git_commit=commit,
        git_branch=branch,
        host=host or "",
        pid=pid,
        status=status,
        exit_code=exit_code,
        collected=collected or 0,
        workers=workers or 0,
        backend=backend or "local",
        parent_run=parent,
        counts=json.loads(counts) if counts else {},
        partial=bool(partial),
    )


def worker_params(w: WorkerInfo) -> list[Any]:
    return [w.run_id, w.worker_id, w.host, w.pid, w.node, json.dumps(w.capabilities, default=str)]


def worker_from_row(row: tuple[Any, ...]) -> WorkerInfo:
    run_id, worker_id, host, pid, node, caps = row
    return WorkerInfo(
        run_id=run_id,
        worker_id=worker_id,
        host=host or "",
        pid=pid,
        capabilities=json.loads(caps) if caps else {},
        node=node,
    )


def result_from_row(row: tuple[Any, ...]) -> TestResult:
    (
        run_id,
        nodeid,
        outcome,
        attempt,
        worker,
        start,
        setup,
        call,
        teardown,
        message,
        failure,
        stdout,
        stderr,
        flaky,
        final,
    ) = row
    return TestResult(
        run_id=run_id,
        nodeid=nodeid,
        outcome=outcome,
        attempt=attempt,
        worker=worker,
        start=start,
        setup_duration=setup or 0.0,
        call_duration=call or 0.0,
        teardown_duration=teardown or 0.0,
        message=message,
        failure_text=failure,
        stdout=stdout,
        stderr=stderr,
        flaky=bool(flaky),
        final=bool(final),
    )
