"""What the read commands (runs, show, workers) share: ``--db``, finding the file, opening it.

Only the standard library at import time; the store is imported inside the functions.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from testfleet.paths import find_rootdir

if TYPE_CHECKING:
    from testfleet.model import RunInfo
    from testfleet.store import Store

__all__ = [
    "add_db_option",
    "db_path",
    "find_rootdir",
    "open_for_reading",
    "read_run",
    "read_store",
    "resolve_run",
]

READ_LOCK_TIMEOUT = 5.0


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="results file (default: the nearest .testfleet/results.duckdb from here up to the "
        "project root, else the store the last run wrote to)",
    )


def db_path(db: str | None) -> Path:
    """``--db`` as an absolute path (relative to the current directory), or the project's
    store (:func:`testfleet.store.locate.find_store`)."""
    from testfleet.store.locate import find_store

    if db is None:
        return find_store()[0]
    return Path(db).expanduser().absolute()


def open_for_reading(ns: argparse.Namespace) -> Store:
    """The store named by ``--db``, read-only; aborts with one line when it cannot be read."""
    from testfleet.console import abort
    from testfleet.errors import StoreError
    from testfleet.store import NO_STORE, open_store

    if ns.db is not None and ns.db.lower() == NO_STORE:
        abort(
            f"--db {ns.db} keeps no results, so there is nothing to read; pass the path of a results file", 4
        )
    path = db_path(ns.db)
    if not path.exists():
        hint = (
            "run `testfleet run` in this project, or pass --db PATH"
            if ns.db is None
            else "check the --db path"
        )
        abort(f"no results store at {path} (no run has stored results there yet; {hint})", 4)
    try:
        store = open_store(path, rootdir=path.parent, readonly=True, lock_timeout=READ_LOCK_TIMEOUT)
    except StoreError as exc:
        abort(str(exc), 1)
    if ns.db is None:  # say which store was found (stderr: stdout may be JSON)
        from testfleet.console import err

        console = err()
        line = f"testfleet: reading {path}"
        if console.is_terminal and len(line) > console.width:  # the path on a line of its own
            line = f"testfleet: reading\n  {path}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return store


def resolve_run(store: Store, ref: str | None, ns: argparse.Namespace) -> RunInfo:
    """The run ``ref`` names (an id or a unique prefix), or the latest run when ``ref`` is None."""
    from testfleet.console import abort
    from testfleet.errors import StoreError, UsageError

    where = db_path(ns.db)
    try:
        if ref is None:
            latest = store.latest_run_id()
            if latest is None:
                abort(f"no runs recorded in {where}", 4)
            ref = latest
        run = store.get_run(ref)
    except UsageError as exc:
        abort(str(exc), 4)
    except StoreError as exc:
        abort(str(exc), 1)
    if run is None:
        abort(f"no run {ref!r} in {where}; `testfleet runs` lists the runs", 4)
    return run


T = TypeVar("T")


def read_store(ns: argparse.Namespace, fetch: Callable[[Store], T]) -> T:
    """Open the store named by ``--db``, read from it with ``fetch``, close it.
    A store failure aborts with one line and exit code 1."""
    from testfleet.console import abort
    from testfleet.errors import StoreError

    store = open_for_reading(ns)
    try:
        return fetch(store)
    except StoreError as exc:
        abort(str(exc), 1)
    finally:
        store.close()


def read_run(ns: argparse.Namespace, fetch: Callable[[Store, RunInfo], T]) -> tuple[RunInfo, T]:
    """Resolve ``ns.run`` (default: latest) and fetch from it (see :func:`read_store`)."""

    def both(store: Store) -> tuple[RunInfo, T]:
        info = resolve_run(store, ns.run, ns)
        return info, fetch(store, info)

    return read_store(ns, both)
