"""The documented scoring formula, the readiness checklist and the missing categories.

Per file, four sub-scores in [0, 1]; a sub-score that was not measured is ``None`` and is left
out (the remaining weights are renormalised):

* ``static``    = 1 - (sum over tests of the heaviest severity weight among the test's findings
                  + sum of file-level finding weights) / number of tests, floored at 0.
                  Weights: high 1.0, medium 0.5, low 0.25.
* ``checks``    = share of the file's passed tests that executed at least one check (``--run``).
* ``mutation``  = killed / (killed + survived) over the mutants that the file's tests were run
                  against (``--mutate``).
* ``stability`` = share of the file's executed tests that passed and are not flaky (``--run``).

``score = 10 * sum(w_i * s_i) / sum(w_i)`` with weights static 0.4, checks 0.2, mutation 0.25,
stability 0.15, rounded to one decimal. The suite score is the mean of the file scores weighted
by their number of tests.
"""

from __future__ import annotations

from collections import defaultdict

from testfleet.audit.classify import CATEGORIES, CATEGORY_SIGNALS
from testfleet.audit.model import AuditResult, CheckItem, FileReport, MissingCategory, Severity

WEIGHTS = {"static": 0.4, "checks": 0.2, "mutation": 0.25, "stability": 0.15}
BRANCH_TARGET = 0.90
FLAKY_BOUND = 0.01
MUTATION_TARGET = 0.70
_PASSING = {"passed", "xfailed"}
_RAN = {"passed", "failed", "error", "xfailed", "xpassed", "crashed", "timeout"}


def static_subscore(fr: FileReport) -> float | None:
    if not fr.tests:
        return None
    worst: dict[str, float] = defaultdict(float)
    file_level = 0.0
    for f in fr.findings:
        w = Severity(f.severity).weight
        if f.test is None:
            file_level += w
        else:
            worst[f.test] = max(worst[f.test], w)
    return max(0.0, 1.0 - (sum(worst.values()) + file_level) / len(fr.tests))


def file_subscores(fr: FileReport, mutation: tuple[int, int] | None) -> dict[str, float | None]:
    ran = [t for t in fr.tests if t.outcome in _RAN]
    passed = [t for t in fr.tests if t.outcome in _PASSING]
    with_counts = [t for t in passed if t.executed_checks is not None]
    subs: dict[str, float | None] = {
        "static": static_subscore(fr),
        "checks": (sum(1 for t in with_counts if (t.executed_checks or 0) > 0) / len(with_counts))
        if with_counts else None,
        "mutation": (mutation[0] / (mutation[0] + mutation[1])) if mutation and sum(mutation) else None,
        "stability": (sum(1 for t in ran if t.outcome in _PASSING and not (t.flaky_rate or 0) > 0)
                      / len(ran)) if ran else None,
    }
    return subs


def combine(subs: dict[str, float | None]) -> float | None:
    got = {k: v for k, v in subs.items() if v is not None}
    if not got:
        return None
    total = sum(WEIGHTS[k] for k in got)
    return round(10 * sum(WEIGHTS[k] * v for k, v in got.items()) / total, 1)


def score_result(result: AuditResult, mutation_by_file: dict[str, tuple[int, int]] | None = None) -> None:
    """Fill file scores, the suite score, the checklist and missing categories in place."""
    weighted, n = 0.0, 0
    for fr in result.files:
        fr.subscores = file_subscores(fr, (mutation_by_file or {}).get(fr.path))
        fr.score = combine(fr.subscores)
        if fr.score is not None:
            weighted += fr.score * len(fr.tests)
            n += len(fr.tests)
    result.score = round(weighted / n, 1) if n else None
    result.missing = missing_categories(result)
    result.checklist = checklist(result)


def missing_categories(result: AuditResult) -> list[MissingCategory]:
    present = {ty for t in result.tests for ty in t.types}
    return [MissingCategory(c, CATEGORY_SIGNALS[c]) for c in CATEGORIES if c not in present]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def checklist(result: AuditResult) -> list[CheckItem]:
    m = result.measurement
    tests = result.tests
    items: list[CheckItem] = []

    def add(id_: str, title: str, ok: bool | None, value: str, detail: str = "") -> None:
        status = "not-measured" if ok is None else "measured-pass" if ok else "measured-fail"
        items.append(CheckItem(id_, title, status, value, detail))

    br = m.branch_rate
    meaningful = not m.zero_check_passes
    add("branch-coverage", f"branch coverage >= {_pct(BRANCH_TARGET)} with meaningful tests",
        None if br is None else (br >= BRANCH_TARGET and meaningful),
        "not measured (use --run)" if br is None else _pct(br),
        "" if br is None else f"{m.covered_branches}/{m.total_branches} branches; "
        f"{len(m.zero_check_passes)} passing test(s) executed no check")
    cannot = [f for f in result.findings if f.rule in {"cannot-fail", "placeholder"}]
    add("no-cannot-fail", "no test that cannot fail", not cannot and meaningful,
        f"{len(cannot)} static, " + (f"{len(m.zero_check_passes)} measured" if m.ran else "runtime not measured"))
    for cat, id_, title in [("end-to-end", "e2e-present", "end-to-end tests present"),
                            ("fault-injection", "fault-tests-present", "fault-tolerance tests present"),
                            ("performance", "benchmarks-present", "performance benchmarks present"),
                            ("property-based", "property-tests-present", "property-based tests present")]:
        members = [t for t in tests if cat in t.types]
        add(id_, title, bool(members), f"{len(members)} test(s)")
    e2e = [t for t in tests if "end-to-end" in t.types]
    e2e_ran = [t for t in e2e if t.outcome in _RAN]
    add("e2e-passing", "end-to-end tests passing",
        None if not e2e_ran else all(t.outcome in _PASSING for t in e2e_ran),
        "not measured (use --run)" if not e2e_ran else
        f"{sum(1 for t in e2e_ran if t.outcome in _PASSING)}/{len(e2e_ran)} passed")
    ran = [t for t in tests if t.outcome in _RAN]
    add("suite-passing", "all collected tests pass under --run",
        None if not ran else all(t.outcome in _PASSING for t in ran),
        "not measured (use --run)" if not ran else f"{sum(1 for t in ran if t.outcome in _PASSING)}/{len(ran)}")
    add("flaky-rate", f"flaky rate below {_pct(FLAKY_BOUND)}",
        None if m.flaky_rate is None else m.flaky_rate < FLAKY_BOUND,
        "not measured (no results-store history)" if m.flaky_rate is None else _pct(m.flaky_rate))
    ms = m.mutation_score
    add("mutation-score", f"mutation score >= {_pct(MUTATION_TARGET)}",
        None if ms is None else ms >= MUTATION_TARGET,
        "not measured (no mutant ran; use --mutate)" if ms is None else
        f"{_pct(ms)} ({m.mutants_killed}/{m.mutants_run} killed)")
    add("no-pseudo-tested", "no pseudo-tested function",
        None if ms is None else not m.pseudo_tested,
        "not measured" if ms is None else f"{len(m.pseudo_tested)} pseudo-tested")
    return items
