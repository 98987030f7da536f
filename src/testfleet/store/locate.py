"""Where a project's results store is, for the read commands (runs, show, workers, ...).

A read command run anywhere in a project finds that project's store: the nearest directory
at or above the current one holding ``.testfleet/results.duckdb``, else the project root's
default path when that file exists, else the store the last run on this machine wrote to
(remembered in the user's cache: ``$TESTFLEET_CACHE_DIR``, ``$XDG_CACHE_HOME/testfleet`` or
``~/.cache/testfleet``). Only the standard library.
"""

from __future__ import annotations

import os
from pathlib import Path

# One root finder for the whole project (testfleet.paths): the read commands walk up with it.
from testfleet.paths import ROOT_MARKERS as ROOT_MARKERS
from testfleet.paths import find_rootdir as find_rootdir

DEFAULT_DB = os.path.join(".testfleet", "results.duckdb")
LAST_STORE_FILE = "last-store"


def cache_dir() -> Path:
    explicit = os.environ.get("TESTFLEET_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "testfleet"


def remember_last_store(path: str | os.PathLike[str]) -> None:
    """Note ``path`` as the store the last run wrote to (best effort: never fails a run)."""
    try:
        directory = cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f"{LAST_STORE_FILE}.{os.getpid()}"
        tmp.write_text(str(Path(path).absolute()) + "\n", encoding="utf-8")
        os.replace(tmp, directory / LAST_STORE_FILE)
    except OSError:
        pass


def last_store() -> Path | None:
    try:
        text = (cache_dir() / LAST_STORE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None


def find_store(start: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The store a read command should read, and how it was found (for the message that
    says which store was read): ``"here"``, ``"last run"`` or ``"default"`` (no file yet)."""
    here = Path(start if start is not None else os.getcwd()).absolute()
    root = find_rootdir(here)
    for directory in (here, *here.parents):
        candidate = directory / DEFAULT_DB
        if candidate.is_file():
            return candidate, "here"
        if directory == root:
            break
    last = last_store()
    if last is not None and last.is_file():
        return last, "last run"
    return root / DEFAULT_DB, "default"
