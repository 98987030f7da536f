"""Duration regressions: step changes in a test's duration over its history, found and confirmed.

Method (docs/analysis.md "regressions"), per test, over its *passing* runs in the window (a failing
test stops early, a skipped one does not run: their times say nothing about speed):

1. Work on ``log(duration)``: a 2x slowdown is the same step for a 10 ms and a 10 s test, and the
   multiplicative noise of timings becomes additive.
2. **Binary segmentation** for changes in the mean (Scott & Knott 1974; the L2 cost of
   ``ruptures.Binseg``): split the series where the sum of squared deviations drops most, keep the
   split when the drop exceeds a penalty ``penalty * sigma^2 * log(n)`` (a BIC-style penalty; sigma
   estimated robustly from the MAD of first differences, which a step barely moves), recurse into
   both sides. Segments are at least ``min_size`` runs long.
3. **Confirm** each boundary with a two-sided Mann-Whitney U test between the runs of the segment
   before and the segment after it (as benchstat does): p < ``alpha``. The boundary was chosen
   as the best of ``n - 2 * min_size + 1`` positions, so the p-value is Bonferroni-adjusted for
   that search (without it, a test that is randomly fast or slow -- warm or cold caches -- gets
   a "step" wherever its draws happened to cluster).
4. **Keep** a step only when the medians changed by at least ``min_ratio`` times *and* by at least
   ``min_seconds`` -- so microsecond noise never alerts and a long test's jitter neither.
5. Boundaries that fail 3 or 4 are dropped one at a time, the weakest first, merging their two
   segments, and the rest are judged again against the merged neighbours (backward elimination):
   a short segment between two changes does not hide a real step next to it.

Pure functions; the series come from :meth:`Store.test_series` and :meth:`Store.run_stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from testfleet.analysis.stats import MAD_SCALE, mad, mann_whitney, median
from testfleet.store.history import RunStats, TestSeries

DEFAULT_MIN_RATIO = 1.25
DEFAULT_MIN_SECONDS = 0.05
DEFAULT_ALPHA = 0.01
DEFAULT_PENALTY = 3.0
DEFAULT_MIN_SIZE = 4
SUITE = "<suite total test time>"
_FLOOR = 1e-6  # seconds: log of a zero duration


@dataclass(frozen=True)
class Step:
    """One confirmed duration change of a test (or of the suite's total test time)."""

    nodeid: str
    since_run: str  # the first run of the new level
    since_commit: str | None
    before_s: float  # median of the segment before
    after_s: float  # median of the segment after
    p_value: float

    @property
    def ratio(self) -> float:
        return self.after_s / self.before_s if self.before_s > 0 else math.inf

    def as_dict(self) -> dict[str, object]:
        return {
            "nodeid": self.nodeid,
            "since_run": self.since_run,
            "since_commit": self.since_commit,
            "before_s": round(self.before_s, 6),
            "after_s": round(self.after_s, 6),
            "ratio": round(self.ratio, 4) if math.isfinite(self.ratio) else None,
            "p_value": float(f"{self.p_value:.4g}"),
        }


@dataclass
class Regressions:
    regressions: list[Step]  # slowdowns, the biggest ratio first
    improvements: list[Step]  # speed-ups, the biggest first
    suite: list[Step]  # steps of the suite's total test time (both directions, in run order)

    def as_dict(self) -> dict[str, object]:
        return {
            "regressions": [s.as_dict() for s in self.regressions],
            "improvements": [s.as_dict() for s in self.improvements],
            "suite": [s.as_dict() for s in self.suite],
        }


def _segment_cost(s1: list[float], s2: list[float], a: int, b: int) -> float:
    n = b - a
    total = s1[b] - s1[a]
    return (s2[b] - s2[a]) - total * total / n


def change_points(
    x: Sequence[float], *, penalty: float = DEFAULT_PENALTY, min_size: int = DEFAULT_MIN_SIZE
) -> list[int]:
    """Indices where a new mean level of ``x`` starts (binary segmentation, L2 cost), sorted."""
    n = len(x)
    if n < 2 * min_size:
        return []
    diffs = [x[i + 1] - x[i] for i in range(n - 1)]
    sigma = MAD_SCALE * mad(diffs) / math.sqrt(2.0)
    sigma = max(sigma, 1e-3)  # log scale: 0.1% noise at least, so identical timings never split
    threshold = penalty * sigma * sigma * math.log(n)
    s1, s2 = [0.0], [0.0]
    for v in x:
        s1.append(s1[-1] + v)
        s2.append(s2[-1] + v * v)
    found: list[int] = []
    todo = [(0, n)]
    while todo:
        a, b = todo.pop()
        if b - a < 2 * min_size:
            continue
        whole = _segment_cost(s1, s2, a, b)
        best, where = 0.0, -1
        for t in range(a + min_size, b - min_size + 1):
            gain = whole - _segment_cost(s1, s2, a, t) - _segment_cost(s1, s2, t, b)
            if gain > best:
                best, where = gain, t
        if where > 0 and best > threshold:
            found.append(where)
            todo.extend([(a, where), (where, b)])
    return sorted(found)


def find_steps(
    nodeid: str,
    run_ids: Sequence[str],
    commits: Sequence[str | None],
    seconds: Sequence[float],
    *,
    min_ratio: float = DEFAULT_MIN_RATIO,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    alpha: float = DEFAULT_ALPHA,
    penalty: float = DEFAULT_PENALTY,
    min_size: int = DEFAULT_MIN_SIZE,
) -> list[Step]:
    """Confirmed steps of one series (``seconds`` in run order, ``run_ids``/``commits`` parallel)."""
    if len(seconds) < 2 * min_size:
        return []
    if max(seconds) - min(seconds) < min_seconds:
        return []  # no step can pass the absolute threshold
    if max(seconds) < min(seconds) * min_ratio and min(seconds) > 0:
        return []  # ... nor the relative one
    x = [math.log(max(s, _FLOOR)) for s in seconds]
    cuts = change_points(x, penalty=penalty, min_size=min_size)
    searched = max(1, len(x) - 2 * min_size + 1)  # split positions binary segmentation tried
    while True:  # drop the weakest unconfirmed boundary, merge its segments, judge again
        bounds = [0, *cuts, len(x)]
        judged = []
        for i in range(1, len(bounds) - 1):
            before = seconds[bounds[i - 1] : bounds[i]]
            after = seconds[bounds[i] : bounds[i + 1]]
            b, a = median(before), median(after)
            lo, hi = min(a, b), max(a, b)
            small = hi - lo < min_seconds or hi < max(lo, _FLOOR) * min_ratio
            p = min(1.0, mann_whitney(before, after) * searched)
            judged.append((small or p >= alpha, 2.0 if small else p, bounds[i], b, a))
        weak = [j for j in judged if j[0]]
        if not weak:
            return [Step(nodeid, run_ids[k], commits[k], b, a, p) for _, p, k, b, a in judged]
        cuts.remove(max(weak, key=lambda j: j[1])[2])


def find_regressions(
    runs: Sequence[RunStats],
    series: Sequence[TestSeries],
    *,
    min_ratio: float = DEFAULT_MIN_RATIO,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    alpha: float = DEFAULT_ALPHA,
    penalty: float = DEFAULT_PENALTY,
    min_size: int = DEFAULT_MIN_SIZE,
) -> Regressions:
    """Duration steps of every test in ``series`` and of the suite's total test time over
    ``runs`` (the window, oldest first, that the series index into)."""
    if min_ratio <= 1.0:
        raise ValueError(f"min_ratio must be above 1.0, not {min_ratio}")

    def steps(nodeid: str, run_ids: list[str], commits: list[str | None], seconds: list[float]) -> list[Step]:
        return find_steps(
            nodeid,
            run_ids,
            commits,
            seconds,
            min_ratio=min_ratio,
            min_seconds=min_seconds,
            alpha=alpha,
            penalty=penalty,
            min_size=min_size,
        )

    ids = [r.run_id for r in runs]
    commits = [r.git_commit for r in runs]
    slower: list[Step] = []
    faster: list[Step] = []
    for s in series:
        picked = [(k, d) for k, o, d in zip(s.runs, s.outcomes, s.durations, strict=True) if o == "passed"]
        if len(picked) < 2 * min_size:
            continue
        for step in steps(
            s.nodeid, [ids[k] for k, _ in picked], [commits[k] for k, _ in picked], [d for _, d in picked]
        ):
            (slower if step.after_s > step.before_s else faster).append(step)
    suite = steps(SUITE, ids, commits, [r.test_seconds for r in runs])
    slower.sort(key=lambda s: (-s.ratio, s.nodeid))
    faster.sort(key=lambda s: (s.ratio, s.nodeid))
    return Regressions(slower, faster, suite)
