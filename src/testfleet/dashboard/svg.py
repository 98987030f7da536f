"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched.

The history pages and the static report (``testfleet report``) use the same functions. Each
point carries a ``<title>`` (the browser shows it on hover) and every label is escaped. Colours
are presentation attributes, not style attributes, so the page's Content-Security-Policy (no
inline style) does not hide them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH = 380
HEIGHT = 180
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 58, 12, 12, 30
LINE = "#1565c0"
BAND = "#90caf9"
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


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    fmt: Callable[[float], str],
    *,
    y_range: tuple[float, float] | None = None,
    band: Sequence[tuple[float, float] | None] | None = None,
    ends: tuple[str, str] = ("", ""),
    from_zero: bool = True,
) -> str:
    """A line over runs (``labels``, oldest first, shown on hover); ``None`` values are gaps.
    ``band`` draws a shaded range per run behind the line (a forecast); ``ends`` label the
    first and last run under the axis; ``y_range`` fixes the axis, else it spans the values
    (from 0 when ``from_zero``)."""
    n = len(values)
    known = [v for v in values if v is not None]
    band_values = [b for b in band or () if b is not None]
    if y_range is not None:
        lo, hi = y_range
    elif known or band_values:
        lo = min([*known, *(b[0] for b in band_values)])
        hi = max([*known, *(b[1] for b in band_values)])
        lo = 0.0 if from_zero and lo >= 0 else lo
    else:
        lo, hi = 0.0, 1.0
    y = _scale(lo, hi)
    body = []
    if band_values and band is not None:
        upper = [(_x(i, n), y(b[1])) for i, b in enumerate(band) if b is not None]
        lower = [(_x(i, n), y(b[0])) for i, b in enumerate(band) if b is not None][::-1]
        pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in upper + lower)
        body.append(f'<polygon class="band" points="{pts}" fill="{BAND}" fill-opacity="0.5"/>')
    segment: list[str] = []
    segments: list[list[str]] = [segment]
    for i, v in enumerate(values):
        if v is None:
            segment = []
            segments.append(segment)
            continue
        segment.append(f"{_x(i, n):.1f},{y(v):.1f}")
    for seg in segments:
        if len(seg) > 1:
            body.append(
                f'<polyline class="line" points="{" ".join(seg)}" fill="none" stroke="{LINE}" '
                'stroke-width="2"/>'
            )
    for i, v in enumerate(values):
        if v is not None:
            body.append(
                f'<circle class="point" cx="{_x(i, n):.1f}" cy="{y(v):.1f}" r="3" fill="{LINE}">'
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
