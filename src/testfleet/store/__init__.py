"""Results stores: the :class:`Store` protocol, an in-memory one and the DuckDB file.

The controller calls :func:`open_store` once per run; the read commands open the same file
read-only. DuckDB is imported only when a DuckDB store is opened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from testfleet.errors import StoreError
from testfleet.store.locate import DEFAULT_DB
from testfleet.store.memory import MemoryStore
from testfleet.store.protocol import Store

if TYPE_CHECKING:
    from testfleet.store.duckdb import DuckDBStore

__all__ = ["DEFAULT_DB", "DuckDBStore", "MemoryStore", "Store", "default_path", "open_store"]

NO_STORE = "none"


def default_path(rootdir: str | os.PathLike[str]) -> Path:
    """``<rootdir>/.testfleet/results.duckdb``."""
    return Path(rootdir) / DEFAULT_DB


def _prepare_directory(path: Path) -> None:
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the results directory {directory} for {path.name}: {exc.strerror or exc}"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(f"cannot write {path}: the directory {directory} is not writable")


def open_store(
    path: str | os.PathLike[str] | None,
    *,
    rootdir: str | os.PathLike[str],
    readonly: bool = False,
    lock_timeout: float = 10.0,
    flush_interval: float = 2.0,
    batch_rows: int = 5000,
) -> Store:
    """Open the results store at ``path``.

    ``None`` means :func:`default_path` under ``rootdir``; the string ``"none"`` means an
    in-memory store that keeps nothing after the process ends; a relative path is relative to
    ``rootdir``. A writable store creates the file (and its directory) when missing, migrates
    an older schema and marks runs left ``running`` by a killed controller on this host as
    ``interrupted``. Raises :class:`StoreError` with a one-line message naming the file for an
    unwritable directory, a file that is not a DuckDB database, a file locked by another
    process for more than ``lock_timeout`` seconds, a newer schema, and (read-only) a
    missing file.
    """
    if path is not None and str(path).lower() == NO_STORE:
        return MemoryStore()
    target = default_path(rootdir) if path is None else Path(rootdir) / Path(path)
    target = target.absolute()
    if target.is_dir():
        raise StoreError(f"{target} is a directory, not a results file")
    if readonly:
        if not target.exists():
            raise StoreError(f"no results store at {target}")
        if target.stat().st_size == 0:
            return MemoryStore()  # an empty file (from `touch`): a store with no runs, as for a run
    else:
        _prepare_directory(target)
        if target.exists() and target.stat().st_size == 0:
            target.unlink()  # an empty file (from `touch`) is a new store, not a corrupt one
    from testfleet.store.duckdb import DuckDBStore

    return DuckDBStore(
        target,
        readonly=readonly,
        lock_timeout=lock_timeout,
        flush_interval=flush_interval,
        batch_rows=batch_rows,
    )


def __getattr__(name: str) -> object:
    if name == "DuckDBStore":
        from testfleet.store.duckdb import DuckDBStore

        return DuckDBStore
    raise AttributeError(name)
