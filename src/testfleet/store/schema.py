"""The versioned schema of the DuckDB results store.

The database records the versions applied to it in ``schema_version``. :data:`MIGRATIONS` is the
ordered list of steps from an empty file to the current schema; opening a file runs the steps it
lacks in one transaction, and a file with a version above :data:`SCHEMA_VERSION` (written by a
newer testfleet) is refused rather than misread. To change the schema, append a step; never edit
a released one.

Times are epoch seconds (DOUBLE; ``to_timestamp(start)`` gives a timestamp), ``args``,
``counts`` and ``capabilities`` are JSON text. ``end`` is a reserved word: quote it in SQL.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from testfleet.errors import StoreError


class SchemaError(StoreError):
    """The file's schema is not one this version can use (newer, or not a results store)."""


class Connection(Protocol):
    """The part of a DuckDB connection the migrations use."""

    def execute(self, query: str, parameters: Any = ...) -> Any: ...


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Sequence[str]


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "runs, workers and results tables",
        [
            """CREATE TABLE schema_version (
            version INTEGER NOT NULL, applied DOUBLE NOT NULL, description VARCHAR)""",
            """CREATE TABLE runs (
            id VARCHAR PRIMARY KEY, start DOUBLE NOT NULL, "end" DOUBLE, args VARCHAR,
            rootdir VARCHAR, git_commit VARCHAR, git_branch VARCHAR, host VARCHAR, pid BIGINT,
            status VARCHAR NOT NULL, exit_code INTEGER, collected INTEGER, workers INTEGER,
            backend VARCHAR, parent_run VARCHAR, counts VARCHAR)""",
            """CREATE TABLE workers (
            run_id VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, host VARCHAR, pid BIGINT,
            node VARCHAR, capabilities VARCHAR)""",
            # No index: results are appended run by run, so DuckDB's per-row-group min/max
            # (zone maps) already skip other runs' rows, and an ART index would slow every insert.
            """CREATE TABLE results (
            run_id VARCHAR NOT NULL, nodeid VARCHAR NOT NULL, outcome VARCHAR NOT NULL,
            attempt INTEGER NOT NULL, worker VARCHAR, start DOUBLE, setup_duration DOUBLE,
            call_duration DOUBLE, teardown_duration DOUBLE, message VARCHAR,
            failure_text VARCHAR, stdout VARCHAR, stderr VARCHAR, flaky BOOLEAN, final BOOLEAN)""",
        ],
    ),
    Migration(
        2,
        "final_results view for ad-hoc SQL",
        [
            """CREATE VIEW final_results AS
            SELECT *, setup_duration + call_duration + teardown_duration AS duration
            FROM results WHERE final""",
        ],
    ),
    Migration(
        3,
        "runs.partial: runs of part of the suite (-k, -m, node ids, shards, resumes)",
        [
            "ALTER TABLE runs ADD COLUMN partial BOOLEAN DEFAULT false",
        ],
    ),
]

SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The schema version of the database ``conn`` uses; 0 for an empty database.

    Raises :class:`StoreError` for a database that holds tables but is not a results store.
    """
    tables = {
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise SchemaError(
            "it is a DuckDB database but not a testfleet results store "
            f"(tables: {', '.join(sorted(tables)[:5])})"
        )
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def pending(version: int, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """The steps a database at ``version`` still needs, in order.

    Raises :class:`StoreError` when ``version`` is newer than the last step.
    """
    latest = migrations[-1].version if migrations else 0
    if version > latest:
        raise SchemaError(
            f"its schema version {version} is newer than this testfleet supports "
            f"({latest}); upgrade testfleet to read it"
        )
    return [m for m in migrations if m.version > version]


def migrate(conn: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to the last of ``migrations``, all steps in one transaction.

    Returns the version the database had before. The caller holds the write lock.
    """
    before = current_version(conn)
    steps = pending(before, migrations)
    if not steps:
        return before
    conn.execute("BEGIN TRANSACTION")
    try:
        for step in steps:
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)", [step.version, time.time(), step.description]
            )
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return before
