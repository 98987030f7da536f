"""Comparing two runs: what broke, what was fixed, what appeared, what got slower.

Pure functions over stored results (``TestResult``); ``testfleet compare`` renders them. Only each
test's final attempt counts. A test *fails* when its outcome is one of ``FAILURE_OUTCOMES``
(failed, error, crashed, timeout, unschedulable).

Durations are compared only between two passing results: a failing test stops early and a
skipped one does not run, so their times say nothing about speed.

A test only in head that fails is listed in ``added`` *and* in ``added_failures`` (a pull request
that adds a failing test must trip the ``new-failures`` gate). A test known to be flaky (``known_flaky``,
from the history's flaky analysis) that failed in base and passed in head was not fixed: it goes
to ``flaky_passes``, not ``fixed``. A test is *slower* when its
duration (setup + call + teardown) grew by at least ``min_ratio`` times **and** by at least
``min_seconds`` — the ratio alone would flag a 1 ms test that took 3 ms, the difference alone
every long test that jittered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from testfleet.model import FAILURE_VALUES as FAILING
from testfleet.model import TestResult, outcome_counts

RAN_CLEAN = frozenset({"passed", "xfailed"})  # not failing, and the test actually ran
DEFAULT_MIN_RATIO = 1.5
DEFAULT_MIN_SECONDS = 0.1


@dataclass(frozen=True)
class Change:
    """One test seen in both runs (or in one of them: the other outcome is None)."""

    nodeid: str
    base_outcome: str | None
    head_outcome: str | None
    base_seconds: float | None = None
    head_seconds: float | None = None
    message: str | None = None  # the head's one-line failure message, where it failed

    @property
    def ratio(self) -> float | None:
        if not self.base_seconds or self.head_seconds is None:
            return None
        return self.head_seconds / self.base_seconds


@dataclass
class Comparison:
    base_counts: dict[str, int]
    head_counts: dict[str, int]
    new_failures: list[Change] = field(default_factory=list)  # failing now, not failing before
    fixed: list[Change] = field(default_factory=list)  # failing before, ran clean now
    still_failing: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)  # e.g. passed -> skipped / not_run
    added: list[Change] = field(default_factory=list)  # only in head
    added_failures: list[Change] = field(default_factory=list)  # only in head, and failing
    flaky_passes: list[Change] = field(default_factory=list)  # known flaky: failed, then passed
    removed: list[Change] = field(default_factory=list)  # only in base
    slower: list[Change] = field(default_factory=list)
    faster: list[Change] = field(default_factory=list)
    base_seconds: float = 0.0  # sum of final test durations
    head_seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        def rows(changes: list[Change]) -> list[dict[str, object]]:
            return [
                {
                    "nodeid": c.nodeid,
                    "base": c.base_outcome,
                    "head": c.head_outcome,
                    "base_seconds": c.base_seconds,
                    "head_seconds": c.head_seconds,
                    "message": c.message,
                }
                for c in changes
            ]

        return {
            "base_counts": self.base_counts,
            "head_counts": self.head_counts,
            "base_seconds": round(self.base_seconds, 6),
            "head_seconds": round(self.head_seconds, 6),
            **{name: rows(getattr(self, name)) for name in SECTIONS},
        }


SECTIONS = (
    "new_failures",
    "added_failures",
    "fixed",
    "flaky_passes",
    "still_failing",
    "other_changes",
    "added",
    "removed",
    "slower",
    "faster",
)


def final_results(results: Iterable[TestResult]) -> dict[str, TestResult]:
    """Each test's final attempt (the last one stored, when a run holds several)."""
    out: dict[str, TestResult] = {}
    for r in results:
        if r.final:
            out[r.nodeid] = r
    return out


def compare(
    base: Iterable[TestResult],
    head: Iterable[TestResult],
    *,
    min_ratio: float = DEFAULT_MIN_RATIO,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    known_flaky: frozenset[str] | set[str] = frozenset(),
) -> Comparison:
    """What changed from ``base`` to ``head`` (both one run's stored results)."""
    if min_ratio < 1.0:
        raise ValueError(f"min_ratio must be at least 1.0, not {min_ratio}")
    if min_seconds < 0:
        raise ValueError(f"min_seconds must not be negative, not {min_seconds}")
    b, h = final_results(base), final_results(head)
    cmp = Comparison(
        base_counts=outcome_counts(b.values()),
        head_counts=outcome_counts(h.values()),
        base_seconds=sum(r.duration for r in b.values()),
        head_seconds=sum(r.duration for r in h.values()),
    )
    for nodeid in sorted(h.keys() | b.keys()):
        old, new = b.get(nodeid), h.get(nodeid)
        change = Change(
            nodeid,
            old.outcome if old else None,
            new.outcome if new else None,
            old.duration if old else None,
            new.duration if new else None,
            new.message if new is not None and new.outcome in FAILING else None,
        )
        if old is None:
            cmp.added.append(change)
            if new is not None and new.outcome in FAILING:
                cmp.added_failures.append(change)
        elif new is None:
            cmp.removed.append(change)
        elif new.outcome in FAILING:
            (cmp.still_failing if old.outcome in FAILING else cmp.new_failures).append(change)
        elif old.outcome in FAILING and new.outcome in RAN_CLEAN:
            (cmp.flaky_passes if nodeid in known_flaky else cmp.fixed).append(change)
        elif old.outcome != new.outcome:
            cmp.other_changes.append(change)
        elif old.outcome == new.outcome == "passed":
            if _grew(old.duration, new.duration, min_ratio, min_seconds):
                cmp.slower.append(change)
            elif _grew(new.duration, old.duration, min_ratio, min_seconds):
                cmp.faster.append(change)
    cmp.slower.sort(key=lambda c: (c.base_seconds or 0.0) - (c.head_seconds or 0.0))
    cmp.faster.sort(key=lambda c: (c.head_seconds or 0.0) - (c.base_seconds or 0.0))
    return cmp


def _grew(before: float, after: float, min_ratio: float, min_seconds: float) -> bool:
    return after - before >= min_seconds and after >= before * min_ratio
