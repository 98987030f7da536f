"""What a finished or dead process leaves for its report: how it ended and the tail of its
files. Standard library only (Ray nodes import it).

The one copy of these helpers: the controller, the collector, the workers' capture and the Ray
actors all use them.
"""

from __future__ import annotations

import os
import signal


def describe_exit(code: int) -> str:
    """``subprocess`` style exit code (negative: killed by that signal) -> words."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"killed by signal {-code} ({name})"
    return f"exited with code {code}"


def describe_status(status: int) -> str:
    """``os.wait`` status -> words (as :func:`describe_exit`)."""
    return describe_exit(os.waitstatus_to_exitcode(status))


def read_tail(path: str, limit: int = 64 * 1024, *, marker: bool = True) -> str | None:
    """The last ``limit`` bytes of a capture or log file, decoded leniently; None when it cannot
    be read. With ``marker``, a cut file starts with ``[... N earlier bytes not shown ...]``."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            data = fh.read()
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    if marker and size > limit:
        text = f"[... {size - limit} earlier bytes not shown ...]\n" + text
    return text
