"""Run ids: the local start time and 4 random hex digits (``20260314-091502-3fa2``), sortable
by eye; users can abbreviate one to any unique prefix (like git)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from testfleet.errors import UsageError

SHORT_LENGTH = 8


def new_run_id() -> str:
    """A fresh run id: ``YYYYMMDD-HHMMSS-`` (local time) and 4 lowercase hex digits."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def short(run_id: str) -> str:
    return run_id[:SHORT_LENGTH]


def match_run_id(ref: str, run_ids: Iterable[str]) -> str | None:
    """The one id in ``run_ids`` equal to ``ref`` or starting with it; ``None`` when none does.

    Raises :class:`UsageError` when ``ref`` is a prefix of several ids, naming a few of them.
    """
    ref = ref.strip()
    if not ref:
        return None
    matches = []
    for run_id in run_ids:
        if run_id == ref:
            return run_id
        if run_id.startswith(ref):
            matches.append(run_id)
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise UsageError(
            f"run id prefix {ref!r} is ambiguous: it matches {shown}{more}; give more characters"
        )
    return matches[0] if matches else None
