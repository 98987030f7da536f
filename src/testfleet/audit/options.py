"""What an audit is asked to do (``AuditOptions``) and the helpers every phase shares.

This module sits below ``engine``, ``measure`` and ``mutate`` so that none of them imports another
phase for its option type (no import cycle).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testfleet.audit.discover import DEFAULT_MAX_BYTES

Progress = Callable[[str], None]


@dataclass
class AuditOptions:
    paths: list[str] = field(default_factory=lambda: ["."])
    root: str = "."
    run: bool = False
    mutate: int | None = None  # max number of mutants; None = no mutation testing
    workers: int = 2
    source: list[str] = field(default_factory=list)  # code whose coverage is measured
    max_file_size: int = DEFAULT_MAX_BYTES
    store: str | None = None
    timeout: float = 900.0
    pytest_args: list[str] = field(default_factory=list)
    mutate_via: str = "fleet"  # "fleet": mutants as testfleet work items; "pytest": a process per mutant


def display_path(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), root.resolve()).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        return str(path)
