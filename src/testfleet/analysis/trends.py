"""Trends: per-run aggregates in order, one test's history, and sparklines to show them.

Pure functions over :class:`RunStats` and :class:`TestSeries` (store/history.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from testfleet.store.history import RunStats, TestSeries

BARS = "▁▂▃▄▅▆▇█"
METRICS = ("pass_rate", "tests", "failed", "flaky", "test_seconds", "wall_seconds")


def run_trends(runs: Sequence[RunStats]) -> list[dict[str, object]]:
    """One JSON-able row per run, oldest first (see :meth:`RunStats.as_dict`)."""
    return [r.as_dict() for r in sorted(runs, key=lambda r: (r.start, r.run_id))]


def metric(runs: Sequence[RunStats], name: str) -> list[float | None]:
    """One metric of :data:`METRICS` per run, in the order given."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    return [getattr(r, name) if name != "failed" else float(r.failed) for r in runs]


@dataclass(frozen=True)
class NodePoint:
    """One test in one run of the window."""

    run_id: str
    commit: str | None
    outcome: str | None  # None: the test was not in that run
    seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "commit": self.commit,
            "outcome": self.outcome,
            "seconds": None if self.seconds is None else round(self.seconds, 6),
        }


def node_trend(runs: Sequence[RunStats], series: TestSeries) -> list[NodePoint]:
    """``series`` laid over every run of the window (``None`` where the test did not run)."""
    by_run = {k: (o, d) for k, o, d in zip(series.runs, series.outcomes, series.durations, strict=True)}
    out = []
    for k, r in enumerate(runs):
        outcome, seconds = by_run.get(k, (None, None))
        out.append(NodePoint(r.run_id, r.git_commit, outcome, seconds))
    return out


def sparkline(values: Sequence[float | None]) -> str:
    """``▁▃▅█`` scaled from the smallest to the largest value; a space for ``None``."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span <= 0:
            out.append(BARS[len(BARS) // 2 - 1])
        else:
            out.append(BARS[min(len(BARS) - 1, int((v - lo) / span * (len(BARS) - 1) + 0.5))])
    return "".join(out)
