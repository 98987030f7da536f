"""Where a project lives: finding its root directory from a starting directory.

Pure filesystem look-ups, standard library only. Used by the read commands (the default
results file lies under the root) and by the Ray executor (the root is what it ships).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

# Files that mark a project root (pytest's own rootdir markers).
ROOT_MARKERS = ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini")
# What a project shipped to other machines may be marked by as well: a git checkout.
SHIP_MARKERS = (*ROOT_MARKERS, ".git")


def _marks(directory: Path, marker: str) -> bool:
    # ``.git`` is a directory in a checkout and a file in a worktree; the others are files.
    path = directory / marker
    return path.exists() if marker == ".git" else path.is_file()


def find_rootdir(start: str | os.PathLike[str] | None = None, markers: Iterable[str] = ROOT_MARKERS) -> Path:
    """The nearest directory at or above ``start`` (default: the current directory) holding
    one of ``markers``, else ``start`` itself (absolute)."""
    here = Path(start if start is not None else os.getcwd()).absolute()
    wanted = tuple(markers)
    for directory in (here, *here.parents):
        if any(_marks(directory, marker) for marker in wanted):
            return directory
    return here
