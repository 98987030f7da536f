"""Short DuckDB sessions on a results file: attach, work, detach.

DuckDB lets one process at a time write a database file (and excludes readers meanwhile), so the
store never keeps the file open: each batch of writes and each read attaches the file to a
private in-memory DuckDB instance, does its work and detaches it, which releases the lock.
Attaching costs under a millisecond once the instance exists (creating an instance costs ~30
ms, which is why one is kept per store). When another process holds the file, attaching is
retried with back-off for up to ``lock_timeout`` seconds.

Within one process the lock DuckDB takes does not exclude other instances, so sessions on the same
file are serialized here by a process-wide lock per path.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from testfleet.errors import StoreError

ALIAS = "tf_store"
_path_locks: dict[str, threading.RLock] = {}
_path_locks_guard = threading.Lock()


def _path_lock(path: Path) -> threading.RLock:
    with _path_locks_guard:
        return _path_locks.setdefault(str(path), threading.RLock())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"^[A-Za-z ]+ Error: ", "", line)


def is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


class LockedError(StoreError):
    """The file stayed locked by another process for longer than the lock timeout."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


def translate(exc: BaseException, path: Path, waited: float = 0.0) -> StoreError:
    """A one-line :class:`StoreError` naming ``path`` and what is wrong with it."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc)
    if is_lock_conflict(exc):
        match = re.search(r"PID (\d+)", text)
        pid = int(match.group(1)) if match else None
        holder = f" (pid {pid})" if pid else ""
        return LockedError(
            f"{path} is locked by another process{holder}; gave up after "
            f"{waited:.1f} s (only one process can write it at a time)",
            pid,
        )
    if "not a valid DuckDB database" in text:
        return StoreError(
            f"{path} is not a DuckDB database (corrupt, or another kind of file); "
            "move it away or pass another --db"
        )
    lowered = text.lower()
    if "checksum" in lowered or "corrupt" in lowered:
        return StoreError(
            f"{path} is corrupt ({_first_line(exc)}); move it away (e.g. mv {path} "
            f"{path}.corrupt): the next run starts a new store"
        )
    if "no space left" in lowered:
        return StoreError(f"cannot write {path}: disk full")
    if "permission denied" in lowered or "read-only file system" in lowered:
        return StoreError(f"cannot write {path}: permission denied")
    return StoreError(f"{path}: {_first_line(exc)}")


class Database:
    """One results file, opened only for the length of a :meth:`session`."""

    def __init__(self, path: Path, *, lock_timeout: float = 10.0, threads: int | None = 1) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._threads = threads
        self._conn: duckdb.DuckDBPyConnection | None = None
        self.detach_error: str | None = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            # No progress bar: DuckDB draws one on the terminal for queries over 2 s, which
            # would land in the output of `testfleet regressions --format json > file`.
            config: dict[str, Any] = {}
            if self._threads:
                config["threads"] = self._threads
            self._conn = duckdb.connect(":memory:", config=config)
            self._conn.execute("SET enable_progress_bar = false")
        return self._conn

    def _attach(self, conn: duckdb.DuckDBPyConnection, write: bool) -> None:
        quoted = str(self.path).replace("'", "''")
        sql = f"ATTACH '{quoted}' AS {ALIAS}" + ("" if write else " (READ_ONLY)")
        started = time.monotonic()
        delay = 0.005
        while True:
            try:
                conn.execute(sql)
                return
            except duckdb.Error as exc:
                waited = time.monotonic() - started
                if not is_lock_conflict(exc) or waited >= self.lock_timeout:
                    raise translate(exc, self.path, waited) from None
                time.sleep(min(delay, max(self.lock_timeout - waited, 0.001)))
                delay = min(delay * 2, 0.1)

    @contextmanager
    def session(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """The attached file as the current database of a connection; detached afterwards.

        DuckDB errors inside are re-raised as one-line :class:`StoreError`.
        """
        with _path_lock(self.path):
            conn = self._connection()
            self._attach(conn, write)
            try:
                conn.execute(f"USE {ALIAS}")
                yield conn
            except duckdb.Error as exc:
                raise translate(exc, self.path) from None
            finally:
                self._detach(conn)

    def _detach(self, conn: duckdb.DuckDBPyConnection) -> None:
        try:
            with suppress(duckdb.Error):  # no transaction open is the normal case
                conn.execute("ROLLBACK")
            conn.execute("USE memory")
            conn.execute(f"DETACH {ALIAS}")
            self.detach_error = None
        except duckdb.Error as exc:
            # Committed data is in the write-ahead log already; only the checkpoint failed.
            # Dropping the instance releases the file whatever state it is in.
            self.detach_error = _first_line(exc)
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
