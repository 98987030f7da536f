"""Size bounds applied to every stored result, by every store backend.

A test can print gigabytes; the store keeps a bounded head and tail of it:

* ``stdout`` and ``stderr``: at most :data:`MAX_OUTPUT_CHARS` characters each;
* ``failure_text``: at most :data:`MAX_FAILURE_CHARS` characters;
* ``message``: one line, at most :data:`MAX_MESSAGE_CHARS` characters.

A cut text keeps its first and last halves around a marker line that says how many characters
were dropped (see :func:`cut`). Text that cannot be encoded as UTF-8 (lone surrogates from
undecodable output) has the bad code points replaced, since DuckDB stores UTF-8 only.
"""

from __future__ import annotations

import dataclasses
import enum
import math

from testfleet.model import TestResult

MAX_OUTPUT_CHARS = 64 * 1024
MAX_FAILURE_CHARS = 64 * 1024
MAX_MESSAGE_CHARS = 1024

MARKER = "\n[... testfleet: {n} characters cut ...]\n"


def valid_text(text: str) -> str:
    """``text`` with code points that UTF-8 cannot encode (lone surrogates) replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def cut(text: str | None, limit: int) -> str | None:
    """Keep ``text`` whole if it fits in ``limit`` characters, else its head and tail around
    a marker; the result is never longer than ``limit`` characters."""
    if text is None:
        return None
    text = valid_text(text)
    if len(text) <= limit:
        return text
    # Size the marker for the largest number it could show, so the result fits in ``limit``.
    keep = max(limit - len(MARKER.format(n=len(text))), 0)
    head = keep - keep // 2
    tail = keep // 2
    marker = MARKER.format(n=len(text) - head - tail)
    return text[:head] + marker + text[len(text) - tail :]


def one_line(message: str | None, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    """The first non-blank line of ``message``, cut to ``limit`` characters with an ellipsis."""
    if message is None:
        return None
    message = valid_text(message)
    line = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _duration(value: float) -> float:
    return value if math.isfinite(value) and value >= 0 else 0.0


_INF = math.inf


def needs_bounds(r: TestResult) -> bool:
    """Whether :func:`bound_result` could change ``r`` (a cheap test for the common case of a
    result without text, with ASCII ids and finite durations)."""
    return not (
        r.message is None
        and r.failure_text is None
        and r.stdout is None
        and r.stderr is None
        and type(r.outcome) is str
        and r.nodeid.isascii()
        and r.run_id.isascii()
        and (r.worker is None or r.worker.isascii())
        and (r.start is None or -_INF < r.start < _INF)
        and 0.0 <= r.setup_duration < _INF
        and 0.0 <= r.call_duration < _INF
        and 0.0 <= r.teardown_duration < _INF
    )


def bound_result(result: TestResult) -> TestResult:
    """``result`` with every bound applied (the same object when nothing needed changing)."""
    changes: dict[str, object] = {}
    for name, limit in (
        ("stdout", MAX_OUTPUT_CHARS),
        ("stderr", MAX_OUTPUT_CHARS),
        ("failure_text", MAX_FAILURE_CHARS),
    ):
        value = getattr(result, name)
        if value is not None:
            bounded = cut(value, limit)
            if bounded is not value:
                changes[name] = bounded
    if result.message is not None:
        line = one_line(result.message)
        if line != result.message:
            changes["message"] = line
    if isinstance(result.outcome, enum.Enum):
        changes["outcome"] = result.outcome.value
    for name in ("nodeid", "outcome", "run_id", "worker"):
        value = getattr(result, name)
        if isinstance(value, str) and not value.isascii():
            fixed = valid_text(value)
            if fixed is not value:
                changes[name] = fixed
    if result.start is not None and not math.isfinite(result.start):
        changes["start"] = _finite(result.start)
    for name in ("setup_duration", "call_duration", "teardown_duration"):
        value = getattr(result, name)
        if not (math.isfinite(value) and value >= 0):
            changes[name] = _duration(value)
    return dataclasses.replace(result, **changes) if changes else result  # type: ignore[arg-type]
