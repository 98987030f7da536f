"""Anomalies of one run against the history before it.

* **Duration**: a passing test whose duration is far from its own history: the robust z-score
  ``(d - median) / (1.4826 * MAD)`` over its earlier passing runs (Iglewicz & Hoaglin 1993 use 3.5
  on the "modified z-score"; the default here is 5 because test timings have heavy tails), and at
  least ``min_seconds`` away from the median, so microsecond tests never alert. The scale has a
  floor of 1% of the median, so a test that always took exactly the same time is not infinitely
  sensitive.
* **Outcome**: a test that failed in this run after passing in each of its last ``min_streak``
  runs (default 10) -- a long-passing test that failed. Infrastructure runs (``skip``: see
  :func:`testfleet.analysis.flaky.infrastructure_runs`) neither break nor extend the streak.

Pure functions over the window from :meth:`Store.test_series`; the run to check is one index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from testfleet.analysis.stats import MAD_SCALE, mad, median
from testfleet.store.history import FAILING_VERDICTS, TestSeries

DEFAULT_Z = 5.0
DEFAULT_MIN_HISTORY = 5
DEFAULT_MIN_SECONDS = 0.05
DEFAULT_MIN_STREAK = 10
_SCALE_FLOOR = 0.01  # of the median


@dataclass(frozen=True)
class DurationAnomaly:
    nodeid: str
    seconds: float
    median_s: float
    mad_s: float
    z: float

    def as_dict(self) -> dict[str, object]:
        return {
            "nodeid": self.nodeid,
            "seconds": round(self.seconds, 6),
            "median_s": round(self.median_s, 6),
            "mad_s": round(self.mad_s, 6),
            "z": round(self.z, 2),
        }


@dataclass(frozen=True)
class OutcomeAnomaly:
    nodeid: str
    outcome: str
    passed_before: int  # consecutive passing runs just before this one

    def as_dict(self) -> dict[str, object]:
        return {"nodeid": self.nodeid, "outcome": self.outcome, "passed_before": self.passed_before}


@dataclass
class Anomalies:
    run_id: str
    durations: list[DurationAnomaly] = field(default_factory=list)
    outcomes: list[OutcomeAnomaly] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "durations": [a.as_dict() for a in self.durations],
            "outcomes": [a.as_dict() for a in self.outcomes],
        }


def find_anomalies(
    run_ids: Sequence[str],
    series: Sequence[TestSeries],
    target: int,
    *,
    z: float = DEFAULT_Z,
    min_history: int = DEFAULT_MIN_HISTORY,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    min_streak: int = DEFAULT_MIN_STREAK,
    skip: frozenset[int] | set[int] = frozenset(),
) -> Anomalies:
    """Anomalies of run ``target`` (an index into ``run_ids``) against the runs before it."""
    out = Anomalies(run_ids[target])
    for s in series:
        if not s.runs or target not in s.runs:
            continue
        i = s.runs.index(target)
        outcome = s.outcomes[i]
        before = [
            (o, d)
            for k, o, d in zip(s.runs[:i], s.outcomes[:i], s.durations[:i], strict=True)
            if k < target and k not in skip
        ]
        if outcome == "passed":
            history = [d for o, d in before if o == "passed"]
            if len(history) >= min_history:
                med = median(history)
                spread = mad(history, med) * MAD_SCALE
                scale = max(spread, _SCALE_FLOOR * med, 1e-6)
                d = s.durations[i]
                score = (d - med) / scale
                if abs(score) >= z and abs(d - med) >= min_seconds:
                    out.durations.append(DurationAnomaly(s.nodeid, d, med, spread, score))
        elif outcome in FAILING_VERDICTS:
            streak = 0
            for o, _ in reversed(before):
                if o in FAILING_VERDICTS:
                    break
                streak += o == "passed"
            if streak >= min_streak:
                out.outcomes.append(OutcomeAnomaly(s.nodeid, outcome, streak))
    out.durations.sort(key=lambda a: (-abs(a.z), a.nodeid))
    out.outcomes.sort(key=lambda a: (-a.passed_before, a.nodeid))
    return out
