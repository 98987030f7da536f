"""Fold the stack dumps of crash and timeout reports to the test's own frames.

A worker that crashed or was stopped for a timeout leaves faulthandler's dump: every thread,
each frame from the test down through pytest, pluggy and testfleet's worker loop (about 45
frames, of which the user needs three). :func:`fold_stacks` keeps, in each thread, the frames
up to the last one outside those internals, folds the rest into one line, and drops threads
that are internals only (testfleet's helper threads). ``-vv`` shows the dump unfolded.
"""

from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^(?:Current thread|Thread) 0x[0-9a-f]+ \(most recent call first\):$")
_FRAME = re.compile(r'^\s+File "(?P<file>[^"]*)", line \d+ in ')
_TESTFLEET = str(Path(__file__).resolve().parents[1]) + "/"
# testfleet's worker side also runs from a shipped copy (Ray nodes): matched by its path too
_INTERNAL_PARTS = (
    "/_pytest/",
    "/pluggy/",
    "/threading.py",
    "<frozen ",
    "/testfleet/worker/",
    "/testfleet/executor/",
    "/testfleet/plugin.py",
)


def is_internal(filename: str) -> bool:
    """pytest, pluggy, testfleet itself, and the interpreter's thread/runpy start-up."""
    return filename.startswith(_TESTFLEET) or any(part in filename for part in _INTERNAL_PARTS)


def fold_stacks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    hidden_threads = 0
    i = 0
    while i < len(lines):
        if not _HEADER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        header = lines[i]
        frames: list[tuple[str, bool]] = []
        i += 1
        while i < len(lines) and (m := _FRAME.match(lines[i])):
            frames.append((lines[i], is_internal(m["file"])))
            i += 1
        own = [k for k, (_, internal) in enumerate(frames) if not internal]
        if not own:
            hidden_threads += 1
            if i < len(lines) and not lines[i].strip():
                i += 1  # the blank line after the block
            continue
        keep = own[-1] + 1
        out.append(header)
        out.extend(line for line, _ in frames[:keep])
        if keep < len(frames):
            out.append(f"  ... {len(frames) - keep} frames of pytest, pluggy and testfleet (-vv shows them)")
    if hidden_threads:
        out.append(
            f"({hidden_threads} thread{'s' if hidden_threads != 1 else ''} of testfleet's worker "
            "not shown; -vv shows them)"
        )
    return "\n".join(out)
