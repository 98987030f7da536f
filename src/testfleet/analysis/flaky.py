"""Flaky tests: the probability that a test fails while nothing is wrong with it.

Pure functions over a window of runs (:class:`RunStats`, oldest first) and each test's series in
it (:class:`TestSeries`); ``testfleet flaky`` renders them. Method (docs/analysis.md "flaky"):

* **Verdicts.** Per run a test passed or failed (failed, error, crashed, timeout). Skips, xfails,
  not_run and unschedulable say nothing and are left out. A final pass after a failed attempt
  (``--retries``) is a run where the test *failed* once: it counts as a failure, and as the
  strongest evidence (same code, same run).
* **Infrastructure runs** -- runs where more than ``infra_fraction`` of the verdicts failed (at
  least ``INFRA_MIN_TESTS`` verdicts) -- are left out: the machine broke, not the tests.
* **Broken, not flaky.** A trailing streak of at least ``broken_streak`` consecutive failures
  (TestGrid ignores streaks of 3+ as "broken") that the test's healthy failure rate does not
  explain (``p ** streak < 0.01``) makes the test *broken since* the streak's first run. The
  runs before the streak are its healthy period.
* **Probability.** In the healthy period, ``k`` failing runs out of ``n``; with a weak Jeffreys
  prior Beta(0.5, 0.5) the posterior is Beta(0.5 + k, 0.5 + n - k). ``probability`` is its mean,
  ``interval`` the equal-tailed 95% credible interval.
* **Status.** ``flaky`` when the healthy period has a failure *and* evidence that it was not a
  change of code: a retried pass, a commit with both a pass and a failure, or two flips or more
  between pass and fail; ``broken`` as above; ``healthy`` otherwise (a test that failed for a
  while and was fixed flipped once: that is a fix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from testfleet.analysis.stats import beta_ppf
from testfleet.store.history import FAILING_VERDICTS, RunStats, TestSeries

PRIOR = (0.5, 0.5)  # Jeffreys
LEVEL = 0.95
BROKEN_STREAK = 3
BROKEN_UNLIKELY = 0.01  # a trailing streak this unlikely under the healthy rate is a breakage
INFRA_FRACTION = 0.5
INFRA_MIN_TESTS = 4
STATUSES = ("flaky", "broken", "healthy")


@dataclass(frozen=True)
class FlakyTest:
    nodeid: str
    status: str  # flaky | broken | healthy
    probability: float  # posterior mean of P(fail) while healthy
    interval: tuple[float, float]  # equal-tailed credible interval (LEVEL)
    runs: int  # verdicts in the healthy period
    failures: int  # failing runs in the healthy period (retried passes included)
    retried: int  # runs where it passed on a retry
    same_commit: int  # commits on which it both passed and failed
    flips: int  # pass <-> fail changes between consecutive runs of the healthy period
    broken_since: str | None  # first run of the failing streak (broken only)
    last_outcome: str

    @property
    def flip_rate(self) -> float:
        return self.flips / max(1, self.runs - 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "nodeid": self.nodeid,
            "status": self.status,
            "probability": round(self.probability, 6),
            "interval": [round(self.interval[0], 6), round(self.interval[1], 6)],
            "evidence": {
                "runs": self.runs,
                "failures": self.failures,
                "retried": self.retried,
                "same_commit": self.same_commit,
                "flips": self.flips,
                "flip_rate": round(self.flip_rate, 4),
            },
            "broken_since": self.broken_since,
            "last_outcome": self.last_outcome,
        }


def infrastructure_runs(runs: Sequence[RunStats], fraction: float = INFRA_FRACTION) -> set[int]:
    """Indices of runs where more than ``fraction`` of the verdicts failed."""
    out = set()
    for k, r in enumerate(runs):
        verdicts = r.passed + r.failed
        if verdicts >= INFRA_MIN_TESTS and r.failed > fraction * verdicts:
            out.add(k)
    return out


def credible_interval(
    failures: int, runs: int, level: float = LEVEL, prior: tuple[float, float] = PRIOR
) -> tuple[float, float]:
    a, b = prior[0] + failures, prior[1] + runs - failures
    tail = (1.0 - level) / 2.0
    return beta_ppf(tail, a, b), beta_ppf(1.0 - tail, a, b)


def assess(
    runs: Sequence[RunStats],
    s: TestSeries,
    *,
    skip: set[int] | None = None,
    broken_streak: int = BROKEN_STREAK,
    prior: tuple[float, float] = PRIOR,
    level: float = LEVEL,
    interval: bool = True,
) -> FlakyTest | None:
    """One test's verdict; ``None`` when it gave no verdict in the window."""
    skip = skip or set()
    seq: list[tuple[int, bool, bool]] = []  # (run index, failed, retried)
    for k, outcome, again in zip(s.runs, s.outcomes, s.retried, strict=True):
        if k in skip:
            continue
        if outcome == "passed":
            seq.append((k, again, again))
        elif outcome in FAILING_VERDICTS:
            seq.append((k, True, False))
    if not seq:
        return None
    streak = 0
    while streak < len(seq) and seq[-1 - streak][1] and not seq[-1 - streak][2]:
        streak += 1
    healthy = seq[: len(seq) - streak]
    k_fail = sum(f for _, f, _ in healthy)
    n = len(healthy)
    p = (prior[0] + k_fail) / (prior[0] + prior[1] + n)
    broken_since = None
    if streak >= broken_streak and (n == 0 or p**streak < BROKEN_UNLIKELY):
        broken_since = runs[seq[n][0]].run_id
    else:
        healthy, n = seq, len(seq)
        k_fail = sum(f for _, f, _ in seq)
        p = (prior[0] + k_fail) / (prior[0] + prior[1] + n)
    retried = sum(r for _, _, r in healthy)
    flips = sum(1 for a, b in zip(healthy, healthy[1:], strict=False) if a[1] != b[1])
    by_commit: dict[str, set[bool]] = {}
    for k, failed, was_retried in healthy:
        commit = runs[k].git_commit
        if commit is not None:
            seen = by_commit.setdefault(commit, set())
            seen.add(failed)
            if was_retried:
                seen.add(False)
    same_commit = sum(1 for seen in by_commit.values() if len(seen) == 2)
    if broken_since is not None:
        status = "broken"
    elif k_fail and (retried or same_commit or flips >= 2):
        status = "flaky"
    else:
        status = "healthy"
    bounds = credible_interval(k_fail, n, level, prior) if interval and n else (0.0, 1.0)
    return FlakyTest(
        nodeid=s.nodeid,
        status=status,
        probability=p,
        interval=bounds,
        runs=n,
        failures=k_fail,
        retried=retried,
        same_commit=same_commit,
        flips=flips,
        broken_since=broken_since,
        last_outcome=s.outcomes[-1],
    )


def find_flaky(
    runs: Sequence[RunStats],
    series: Sequence[TestSeries],
    *,
    include_healthy: bool = False,
    broken_streak: int = BROKEN_STREAK,
    infra_fraction: float = INFRA_FRACTION,
    prior: tuple[float, float] = PRIOR,
    level: float = LEVEL,
) -> list[FlakyTest]:
    """Flaky and broken tests of the window (every test with ``include_healthy``): flaky first
    by probability, then broken, then healthy."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    skip = infrastructure_runs(runs, infra_fraction)
    out = []
    for s in series:
        verdict = assess(
            runs, s, skip=skip, broken_streak=broken_streak, prior=prior, level=level, interval=False
        )
        if verdict is None or (verdict.status == "healthy" and not include_healthy):
            continue
        bounds = credible_interval(verdict.failures, verdict.runs, level, prior)
        out.append(replace(verdict, interval=bounds))
    rank = {status: i for i, status in enumerate(STATUSES)}
    out.sort(key=lambda f: (rank[f.status], -f.probability, f.nodeid))
    return out


def known_flaky(runs: Sequence[RunStats], series: Sequence[TestSeries]) -> set[str]:
    """Nodeids whose status is ``flaky`` in the window (for ``compare``)."""
    return {f.nodeid for f in find_flaky(runs, series) if f.status == "flaky"}
