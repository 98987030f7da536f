"""Flaky tests: tests whose verdict changes while nothing says it should.

Pure functions over stored runs; ``testfleet flaky`` renders them. Two kinds of evidence:

* **Retried flakes**: inside one run a test failed, then passed on a retry (``--retries``); the
  store marks that final attempt ``flaky``. The strongest evidence: same code, same run.
* **Flips across runs**: in the runs considered (oldest first), each change between a passing and
  a failing verdict is a flip. One flip is what fixing or breaking a test looks like, so a test
  needs two flips or more to be called flaky this way — or one *same-commit flip*: a flip between
  two runs of the same git commit, where the code did not change and the verdict did.

Only verdicts count: passed against failing outcomes (failed, error, crashed, timeout). Skips,
xfails, not_run and unschedulable say nothing about flakiness and are left out of the sequence.

The score orders the report: ``retried + same_commit_flips + flips / max(1, verdicts - 1)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from testfleet.model import FAILURE_VALUES, Outcome, RunInfo, TestResult

# A test that never ran (unschedulable) gave no verdict.
FAILING_VERDICTS = FAILURE_VALUES - {Outcome.UNSCHEDULABLE.value}
VERDICTS = FAILING_VERDICTS | {"passed"}


@dataclass(frozen=True)
class FlakyTest:
    nodeid: str
    verdicts: int  # runs where the test passed or failed
    passes: int
    failures: int
    flips: int
    same_commit_flips: int
    retried: int  # runs where it failed and then passed on a retry
    last_outcome: str
    last_failure: str | None  # the message of its latest failure

    @property
    def score(self) -> float:
        return self.retried + self.same_commit_flips + self.flips / max(1, self.verdicts - 1)

    def as_dict(self) -> dict[str, object]:
        return {"nodeid": self.nodeid, "verdicts": self.verdicts, "passes": self.passes,
                "failures": self.failures, "flips": self.flips, "same_commit_flips": self.same_commit_flips,
                "retried": self.retried, "last_outcome": self.last_outcome, "last_failure": self.last_failure,
                "score": round(self.score, 4)}


def find_flaky(runs: Sequence[RunInfo], results: Mapping[str, Iterable[TestResult]]) -> list[FlakyTest]:
    """Flaky tests in ``runs`` (any order), given each run's stored results, most flaky first."""
    ordered = sorted(runs, key=lambda r: r.start)
    seq: dict[str, list[tuple[str, str | None, str | None]]] = {}  # nodeid -> [(outcome, commit, message)]
    retried: dict[str, int] = {}
    for run in ordered:
        for r in results.get(run.run_id, ()):
            if not r.final:
                continue
            if r.flaky:
                retried[r.nodeid] = retried.get(r.nodeid, 0) + 1
            if r.outcome in VERDICTS:
                seq.setdefault(r.nodeid, []).append((r.outcome, run.git_commit, r.message))
    out: list[FlakyTest] = []
    for nodeid in seq.keys() | retried.keys():
        verdicts = seq.get(nodeid, [])
        flips = same = 0
        for (a, ca, _), (b, cb, _) in zip(verdicts, verdicts[1:], strict=False):
            if (a in FAILING_VERDICTS) != (b in FAILING_VERDICTS):
                flips += 1
                if ca is not None and ca == cb:
                    same += 1
        n_retried = retried.get(nodeid, 0)
        if n_retried == 0 and flips < 2 and same == 0:
            continue
        failures = [v for v in verdicts if v[0] in FAILING_VERDICTS]
        out.append(FlakyTest(
            nodeid=nodeid, verdicts=len(verdicts), passes=len(verdicts) - len(failures), failures=len(failures),
            flips=flips, same_commit_flips=same, retried=n_retried,
            last_outcome=verdicts[-1][0] if verdicts else "passed",
            last_failure=failures[-1][2] if failures else None))
    out.sort(key=lambda f: (-f.score, f.nodeid))
    return out
