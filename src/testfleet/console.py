"""The one console wrapper for CLI output, and ``abort`` for expected failures."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

from testfleet.errors import EXIT_USAGE, TestfleetError

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


class Abort(TestfleetError):
    """Raised by :func:`abort`: an expected failure with its exit code."""

    @property
    def code(self) -> int:
        return self.exit_code


def abort(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Stop the command with ``testfleet: error: <message>`` and exit code ``code``.

    Raises :class:`Abort`; :func:`testfleet.cli.main.main` prints it (the one error path).
    """
    raise Abort(message, exit_code=code)


def error_line(message: str) -> None:
    """Print ``testfleet: error: <message>`` on one line to stderr."""
    text = " ".join(str(message).split("\n")).strip()
    sys.stderr.write(f"testfleet: error: {text}\n")
    sys.stderr.flush()
