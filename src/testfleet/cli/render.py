"""Rendering helpers of the read commands: rich table cells; the plain formatting helpers
live in :mod:`testfleet.formatting` (the HTML report and the terminal display use them too)."""

from __future__ import annotations

from rich.text import Text

from testfleet.formatting import capabilities, capability, counts, seconds, size, timestamp

__all__ = ["capabilities", "capability", "cells", "counts", "seconds", "size", "timestamp"]


def cells(*values: str) -> list[Text]:
    """Table cells shown literally (a nodeid like ``test[a]`` is not rich markup)."""
    return [Text(v) for v in values]
