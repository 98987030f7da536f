"""Rendering helpers of the read commands: rich table cells and cells that wrap between their
items; the plain formatting helpers live in :mod:`testfleet.formatting` (the HTML report and the
terminal display use them too)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text

from testfleet.formatting import capabilities, capability, counts, seconds, size, timestamp

__all__ = ["capabilities", "capability", "cells", "counts", "seconds", "size", "timestamp", "wrap_items"]


def cells(*values: str) -> list[Text]:
    """Table cells shown literally (a nodeid like ``test[a]`` is not rich markup)."""
    return [Text(v) for v in values]


def wrap_items(items: Sequence[str], width: int) -> str:
    """``items`` joined by spaces, in lines of at most ``width``, broken between items, never
    inside one (``["3 passed,", "1 failed"]``, ``["cpus=8", "python=3.11.7"]``). An item longer
    than a line breaks after its commas (``node_resources=CPU=16.0,GPU=2.0,...``), its next
    lines indented by two spaces; only a part with no comma that is still too long is left to
    the table to fold."""
    lines: list[str] = []
    for item in items:
        parts = [item] if len(item) <= width else re.split(r"(?<=,)(?=.)", item)
        for i, part in enumerate(parts):
            glue = "" if i else " "
            if lines and len(lines[-1]) + len(glue) + len(part) <= width:
                lines[-1] += glue + part
            else:
                lines.append(("  " if i else "") + part)
    return "\n".join(lines)
