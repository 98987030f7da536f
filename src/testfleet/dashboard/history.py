"""Read-only queries of a results store for the history pages and the static report.

Every page is one short read-only session on the file (:class:`HistoryReader.session`: attach
read-only, query, detach), so runs can write the file between two page loads, and nothing here
ever writes it: no migration, no repair of stale runs (a store with an older schema is refused
with a message saying which command upgrades it). The work happens in DuckDB aggregates, so a
page reads a few hundred rows whatever the size of the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testfleet.errors import StoreError
from testfleet.model import FAILURE_VALUES, Outcome, RunInfo, TestResult, WorkerInfo
from testfleet.store import queries
from testfleet.store.connection import Database
from testfleet.store.schema import SCHEMA_VERSION, SchemaError, current_version, pending

FAILING = sorted(FAILURE_VALUES - {Outcome.UNSCHEDULABLE.value})
# Our own constants as an SQL literal: DuckDB compares a literal IN list faster than a list parameter.
_FAILING_SQL = "(" + ", ".join(f"'{o}'" for o in FAILING) + ")"
TREND_RUNS = 50
GRID_RUNS = 20
GRID_ROWS = 150
PAGE_ROWS = 500
FAILURES_SHOWN = 200
_DURATION = "coalesce(setup_duration, 0) + coalesce(call_duration, 0) + coalesce(teardown_duration, 0)"


@dataclass(frozen=True)
class TrendPoint:
    """One run in the trend charts."""

    run_id: str
    start: float
    wall: float | None  # seconds from start to end
    tests: int  # final results
    passed: int
    failing: int  # failed, error, crashed, timeout
    test_seconds: float  # summed over every attempt
    flaky: int  # passed on a retry
    whole: bool = True  # a finished run of the whole suite (what history statistics count)

    @property
    def pass_rate(self) -> float | None:
        verdicts = self.passed + self.failing
        return None if verdicts == 0 else self.passed / verdicts


@dataclass
class Grid:
    """Tests x runs: ``cells[i][j]`` is test i's outcome in run j (None: not in that run)."""

    runs: list[RunInfo]  # oldest first
    nodeids: list[str]
    cells: list[list[tuple[str, bool] | None]]  # (outcome, flaky)
    total_tests: int  # tests in these runs (before the row limit)


@dataclass
class RunPage:
    run: RunInfo
    counts: dict[str, int]
    failures: list[TestResult]
    failure_total: int
    flaky: list[TestResult]
    slowest: list[TestResult]
    workers: list[WorkerInfo]
    tests: list[TestResult]  # the filtered table
    matching: int  # tests matching the filter
    attempts: dict[str, int] = field(default_factory=dict)


class HistoryReader:
    """Read-only access to one results file."""

    def __init__(self, path: str | Path, lock_timeout: float = 5.0) -> None:
        self.path = Path(path).absolute()
        if not self.path.is_file():
            raise StoreError(f"no results store at {self.path}")
        self._db = Database(self.path, lock_timeout=lock_timeout, threads=None)

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self._db.session(write=False) as conn:
            try:
                version = current_version(conn)
                pending(version)
            except SchemaError as exc:
                raise StoreError(f"{self.path}: {exc}") from None
            if version < SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}; a run or `testfleet runs` "
                    f"with this testfleet upgrades it to {SCHEMA_VERSION} (the dashboard only reads)"
                )
            yield conn

    def close(self) -> None:
        self._db.close()


def runs(conn: Any, limit: int = 100, until: float | None = None) -> list[RunInfo]:
    """The latest runs (newest first), at most ``limit``, started at or before ``until``."""
    sql = f"SELECT {queries.RUN_COLUMNS} FROM runs WHERE start <= ? ORDER BY start DESC LIMIT ?"
    return [queries.run_from_row(r) for r in conn.execute(sql, [_until(until), limit]).fetchall()]


def _until(until: float | None) -> float:
    return float("inf") if until is None else until


def trends(conn: Any, last: int = TREND_RUNS, until: float | None = None) -> list[TrendPoint]:
    """One point per run for the last ``last`` runs up to ``until``, oldest first."""
    rows = conn.execute(
        f"""
        WITH r AS (SELECT id, start, "end", status = 'finished' AND NOT coalesce(partial, false) AS whole
                   FROM runs WHERE start <= ? ORDER BY start DESC LIMIT ?)
        SELECT r.id, r.start, r."end" - r.start,
               count(x.nodeid) FILTER (WHERE x.final),
               count(x.nodeid) FILTER (WHERE x.final AND x.outcome = 'passed'),
               count(x.nodeid) FILTER (WHERE x.final AND x.outcome IN {_FAILING_SQL}),
               coalesce(sum(coalesce(x.setup_duration, 0) + coalesce(x.call_duration, 0)
                            + coalesce(x.teardown_duration, 0)), 0),
               count(x.nodeid) FILTER (WHERE x.final AND x.flaky), r.whole
        FROM r LEFT JOIN results x ON x.run_id = r.id
        GROUP BY r.id, r.start, r."end", r.whole ORDER BY r.start""",
        [_until(until), last],
    ).fetchall()
    return [
        TrendPoint(
            run_id=i,
            start=s,
            wall=w,
            tests=t,
            passed=p,
            failing=f,
            test_seconds=float(d),
            flaky=k,
            whole=bool(whole),
        )
        for i, s, w, t, p, f, d, k, whole in rows
    ]


def grid(conn: Any, last: int = GRID_RUNS, rows: int = GRID_ROWS, match: str = "") -> Grid:
    """The last ``last`` runs' final outcomes for at most ``rows`` tests whose id contains
    ``match``: the tests that failed most in those runs first, then those whose outcome changed."""
    recent = runs(conn, last)[::-1]
    if not recent:
        return Grid([], [], [], 0)
    ids = [r.run_id for r in recent]
    picked = conn.execute(
        f"""
        WITH w AS (SELECT unnest(?::VARCHAR[]) AS run_id),
        f AS (SELECT x.nodeid, x.outcome FROM results x JOIN w USING (run_id)
              WHERE x.final AND contains(x.nodeid, ?))
        SELECT nodeid, count(*) FILTER (WHERE outcome IN {_FAILING_SQL}) AS bad,
               count(DISTINCT outcome) AS kinds, count(*) OVER () AS total
        FROM f GROUP BY nodeid ORDER BY bad DESC, kinds DESC, nodeid LIMIT ?""",
        [ids, match, rows],
    ).fetchall()
    nodeids = [p[0] for p in picked]
    total = int(picked[0][3]) if picked else 0
    index = {n: i for i, n in enumerate(nodeids)}
    column = {r: j for j, r in enumerate(ids)}
    cells: list[list[tuple[str, bool] | None]] = [[None] * len(ids) for _ in nodeids]
    if nodeids:
        for nodeid, run_id, outcome, flaky in conn.execute(
            """
                WITH w AS (SELECT unnest(?::VARCHAR[]) AS run_id),
                n AS (SELECT unnest(?::VARCHAR[]) AS nodeid)
                SELECT x.nodeid, x.run_id, x.outcome, x.flaky FROM results x
                JOIN w USING (run_id) JOIN n USING (nodeid) WHERE x.final""",
            [ids, nodeids],
        ).fetchall():
            cells[index[nodeid]][column[run_id]] = (outcome, bool(flaky))
    return Grid(recent, nodeids, cells, total)


def run_page(
    conn: Any, run_id: str, match: str = "", outcome: str = "", limit: int = PAGE_ROWS
) -> RunPage | None:
    """Everything ``testfleet show`` has about one run, and its tests filtered by ``match`` (a
    substring of the node id) and ``outcome``."""
    from testfleet.store.ids import match_run_id

    found = match_run_id(
        run_id, [r[0] for r in conn.execute(queries.RUN_IDS_WITH_PREFIX, [run_id]).fetchall()]
    )
    if found is None:
        return None
    run = queries.run_from_row(conn.execute(queries.RUN_BY_ID, [found]).fetchone())
    counts = dict(conn.execute(queries.FINAL_COUNTS, [found]).fetchall())
    cols = queries.RESULT_COLUMNS

    def results(where: str, params: list[Any], order: str, n: int) -> list[TestResult]:
        sql = f"SELECT {cols} FROM results WHERE run_id = ? AND final AND {where} ORDER BY {order} LIMIT ?"
        return [queries.result_from_row(r) for r in conn.execute(sql, [found, *params, n]).fetchall()]

    failing = sorted(FAILURE_VALUES)
    failures = results("list_contains(?::VARCHAR[], outcome)", [failing], "nodeid", FAILURES_SHOWN)
    failure_total = sum(counts.get(o, 0) for o in failing)
    flaky = results("flaky", [], "nodeid", FAILURES_SHOWN)
    slowest = results("true", [], f"{_DURATION} DESC", 10)
    where = "contains(nodeid, ?)" + (" AND outcome = ?" if outcome else "")
    params: list[Any] = [match, outcome] if outcome else [match]
    tests = results(where, params, "nodeid", limit)
    matching = conn.execute(
        f"SELECT count(*) FROM results WHERE run_id = ? AND final AND {where}", [found, *params]
    ).fetchone()[0]
    attempts = dict(
        conn.execute(
            "SELECT nodeid, count(*) FROM results WHERE run_id = ? GROUP BY nodeid HAVING count(*) > 1",
            [found],
        ).fetchall()
    )
    workers = [queries.worker_from_row(r) for r in conn.execute(queries.WORKERS, [found]).fetchall()]
    if run.status == "running" and not run.counts:
        run.counts = counts
    return RunPage(
        run, counts, failures, failure_total, flaky, slowest, workers, tests, int(matching), attempts
    )
