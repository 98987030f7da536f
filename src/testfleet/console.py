"""The one console wrapper for CLI output, and ``abort`` for expected failures."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # rich is imported when something is printed, not at start-up
    from rich.console import Console

_out: Console | None = None
_err: Console | None = None


def out() -> Console:
    global _out
    if _out is None:
        from rich.console import Console

        _out = Console(highlight=False, soft_wrap=True)
    return _out


def err() -> Console:
    global _err
    if _err is None:
        from rich.console import Console

        _err = Console(stderr=True, highlight=False, soft_wrap=True)
    return _err


class Abort(SystemExit):
    """Raised by :func:`abort`; carries the exit code."""


def abort(message: str, code: int = 4) -> NoReturn:
    """Print ``testfleet: error: <message>`` on one line to stderr and exit with ``code``."""
    sys.stderr.write(f"testfleet: error: {message}\n")
    sys.stderr.flush()
    raise Abort(code)
