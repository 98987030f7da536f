"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched.

The history pages and the static report (``testfleet report``) use the same functions. Each
point carries a ``<title>`` (the browser shows it on hover) and every label is escaped. Colours
are presentation attributes, not style attributes, so the page's Content-Security-Policy (no
inline style) does not hide them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 380
HEIGHT = 180
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 58, 12, 12, 30
LINE = "#1565c0"
BAND = "#90caf9"
BAND_INNER = "#64b5f6"
BAR = "#ef6c00"
AXIS = "#9e9e9e"


def _frame(title: str, body: str, lo_label: str, hi_label: str, first: str, last: str) -> str:
    bottom = HEIGHT - PAD_BOTTOM
    return (
        f'<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom}" stroke="{AXIS}"/>'
        f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{WIDTH - PAD_RIGHT}" y2="{bottom}" stroke="{AXIS}"/>'
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" font-size="11">{escape(hi_label)}</text>'
        f'<text x="{PAD_LEFT - 4}" y="{bottom}" text-anchor="end" font-size="11">{escape(lo_label)}</text>'
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}" font-size="11">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end" font-size="11">{escape(last)}</text>'
        f"{body}</svg>"
    )


def _x(i: int, n: int) -> float:
    span = WIDTH - PAD_LEFT - PAD_RIGHT
    return PAD_LEFT + (span / 2 if n <= 1 else span * i / (n - 1))


def _scale(lo: float, hi: float) -> Callable[[float], float]:
    bottom, top = HEIGHT - PAD_BOTTOM, PAD_TOP
    if hi <= lo:
        hi = lo + 1.0

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    return y


@dataclass(frozen=True)
class Ahead:
    """One forecast run: its label (on hover), mean and 80%/95% intervals."""

    label: str
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


def _forecast(
    ahead: Sequence[Ahead],
    last: float | None,
    n: int,
    slots: int,
    y: Callable[[float], float],
    fmt: Callable[[float], str],
) -> list[str]:
    """The bands and the dashed mean of a forecast, starting at the last value (when known)."""
    xs = [_x(n + k, slots) for k in range(len(ahead))]
    start = [] if last is None else [(_x(n - 1, slots), last, last)]

    def band(cls: str, colour: str, rows: list[tuple[float, float, float]], what: str) -> str:
        upper = [f"{x:.1f},{y(h):.1f}" for x, _, h in rows]
        lower = [f"{x:.1f},{y(lo):.1f}" for x, lo, _ in rows][::-1]
        return (
            f'<polygon class="band {cls}" points="{" ".join(upper + lower)}" fill="{colour}" '
            f'fill-opacity="0.5"><title>{escape(what)}</title></polygon>'
        )

    out = [
        band(
            "band-95",
            BAND,
            start + [(x, a.lo95, a.hi95) for x, a in zip(xs, ahead, strict=True)],
            f"95% forecast interval of the next {len(ahead)} runs",
        ),
        band(
            "band-80",
            BAND_INNER,
            start + [(x, a.lo80, a.hi80) for x, a in zip(xs, ahead, strict=True)],
            f"80% forecast interval of the next {len(ahead)} runs",
        ),
    ]
    line = ([] if last is None else [f"{_x(n - 1, slots):.1f},{y(last):.1f}"]) + [
        f"{x:.1f},{y(a.mean):.1f}" for x, a in zip(xs, ahead, strict=True)
    ]
    if len(line) > 1:
        out.append(
            f'<polyline class="forecast" points="{" ".join(line)}" fill="none" stroke="{LINE}" '
            'stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    for x, a in zip(xs, ahead, strict=True):
        tip = (
            f"{a.label}: forecast {fmt(a.mean)}; 80% {fmt(a.lo80)} to {fmt(a.hi80)}; "
            f"95% {fmt(a.lo95)} to {fmt(a.hi95)}"
        )
        out.append(
            f'<circle class="forecast-point" cx="{x:.1f}" cy="{y(a.mean):.1f}" r="2.5" fill="white" '
            f'stroke="{LINE}"><title>{escape(tip)}</title></circle>'
        )
    return out


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    fmt: Callable[[float], str],
    *,
    y_range: tuple[float, float] | None = None,
    ahead: Sequence[Ahead] = (),
    ends: tuple[str, str] = ("", ""),
    from_zero: bool = True,
) -> str:
    """A line over runs (``labels``, oldest first, shown on hover); ``None`` values are gaps.
    ``ahead`` is a forecast of the next runs, drawn right of the last one: its 95% and 80%
    intervals as two shaded bands and its mean as a dashed line, from the last value on;
    ``ends`` label the first and last run under the axis; ``y_range`` fixes the axis, else it
    spans the values and the forecast (from 0 when ``from_zero``)."""
    n = len(values)
    slots = n + len(ahead)
    known = [v for v in values if v is not None]
    spanned = [*known, *(a.lo95 for a in ahead), *(a.hi95 for a in ahead)]
    if y_range is not None:
        lo, hi = y_range
    elif spanned:
        lo, hi = min(spanned), max(spanned)
        lo = 0.0 if from_zero and lo >= 0 else lo
    else:
        lo, hi = 0.0, 1.0
    y = _scale(lo, hi)
    body: list[str] = _forecast(ahead, values[-1] if values else None, n, slots, y, fmt) if ahead else []
    segment: list[str] = []
    segments: list[list[str]] = [segment]
    for i, v in enumerate(values):
        if v is None:
            segment = []
            segments.append(segment)
            continue
        segment.append(f"{_x(i, slots):.1f},{y(v):.1f}")
    for seg in segments:
        if len(seg) > 1:
            body.append(
                f'<polyline class="line" points="{" ".join(seg)}" fill="none" stroke="{LINE}" '
                'stroke-width="2"/>'
            )
    for i, v in enumerate(values):
        if v is not None:
            body.append(
                f'<circle class="point" cx="{_x(i, slots):.1f}" cy="{y(v):.1f}" r="3" fill="{LINE}">'
                f"<title>{escape(labels[i])}: {escape(fmt(v))}</title></circle>"
            )
    return _frame(title, "".join(body), fmt(lo), fmt(hi), *ends)


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[int], ends: tuple[str, str] = ("", "")
) -> str:
    """Bars over runs (counts)."""
    n = len(values)
    hi = float(max(values, default=0) or 1)
    y = _scale(0.0, hi)
    span = WIDTH - PAD_LEFT - PAD_RIGHT
    width = max(2.0, min(24.0, span / max(n, 1) * 0.7))
    body = []
    for i, v in enumerate(values):
        x = PAD_LEFT + span * (i + 0.5) / max(n, 1) - width / 2
        top = y(float(v))
        body.append(
            f'<rect class="chart-bar" x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{HEIGHT - PAD_BOTTOM - top:.1f}" fill="{BAR}">'
            f"<title>{escape(labels[i])}: {v}</title></rect>"
        )
    return _frame(title, "".join(body), "0", str(int(hi)), *ends)


def percent(v: float) -> str:
    return f"{100 * v:.1f}%"


def seconds(v: float) -> str:
    if v < 120:
        return f"{v:.1f}s"
    if v < 7200:
        return f"{v / 60:.1f}min"
    return f"{v / 3600:.1f}h"
