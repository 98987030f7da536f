"""Migration logic, on in-memory DuckDB databases (no files)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from testfleet.errors import StoreError
from testfleet.store.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    SchemaError,
    current_version,
    migrate,
    pending,
)


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(":memory:")
    yield c
    c.close()


def tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_versions_are_consecutive_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert MIGRATIONS[-1].version == SCHEMA_VERSION


def test_empty_database_is_version_zero_and_migrates_to_the_latest(conn: duckdb.DuckDBPyConnection) -> None:
    assert current_version(conn) == 0
    assert migrate(conn) == 0
    assert current_version(conn) == SCHEMA_VERSION
    assert {"runs", "workers", "results", "schema_version"} <= tables(conn)
    applied = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [v for (v,) in applied] == list(range(1, SCHEMA_VERSION + 1))


def test_migrating_twice_changes_nothing(conn: duckdb.DuckDBPyConnection) -> None:
    migrate(conn)
    assert migrate(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (SCHEMA_VERSION,)


def test_an_older_database_gets_only_the_missing_steps(conn: duckdb.DuckDBPyConnection) -> None:
    migrate(conn, MIGRATIONS[:1])
    assert current_version(conn) == 1
    conn.execute("INSERT INTO runs (id, start, status) VALUES ('r1', 1.0, 'finished')")
    assert migrate(conn) == 1
    assert current_version(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT id FROM runs").fetchall() == [("r1",)]


def test_a_failing_step_rolls_back_every_step_of_that_migration(conn: duckdb.DuckDBPyConnection) -> None:
    broken = [
        *MIGRATIONS,
        Migration(SCHEMA_VERSION + 1, "broken", ["CREATE TABLE extra (x INT)", "THIS IS NOT SQL"]),
    ]
    with pytest.raises(duckdb.Error):
        migrate(conn, broken)
    assert current_version(conn) == 0
    assert tables(conn) == set()


def test_a_newer_database_is_refused_with_both_versions() -> None:
    with pytest.raises(
        SchemaError, match=rf"schema version 99 is newer than this testfleet supports \({SCHEMA_VERSION}\)"
    ):
        pending(99)


def test_a_foreign_database_is_not_mistaken_for_a_store(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE TABLE invoices (id INT)")
    with pytest.raises(StoreError, match="not a testfleet results store .tables: invoices."):
        current_version(conn)
