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

READ_LOCK_TIMEOUT = 5.0


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH", default=None,
        help="results file (default: .testfleet/results.duckdb under the project root, the "
             "nearest directory up from here with pytest.ini, pyproject.toml, setup.cfg or tox.ini)")


def db_path(db: str | None) -> Path:
    """``--db`` as an absolute path (relative to the current directory), or the default."""
    from testfleet.store import default_path

    if db is None:
        return default_path(find_rootdir()).absolute()
    return Path(db).expanduser().absolute()


def open_for_reading(ns: argparse.Namespace) -> Store:
    """The store named by ``--db``, read-only; aborts with one line when it cannot be read."""
    from testfleet.console import abort
    from testfleet.errors import StoreError
    from testfleet.store import NO_STORE, open_store

    if ns.db is not None and ns.db.lower() == NO_STORE:
        abort(f"--db {ns.db} keeps no results, so there is nothing to read; "
              "pass the path of a results file", 4)
    path = db_path(ns.db)
    if not path.exists():
        hint = "pass --db PATH" if ns.db is None else "check the --db path"
        abort(f"no results store at {path} (no run has stored results there yet; {hint})", 4)
    try:
        return open_store(path, rootdir=path.parent, readonly=True, lock_timeout=READ_LOCK_TIMEOUT)
    except StoreError as exc:
        abort(str(exc), 1)


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
