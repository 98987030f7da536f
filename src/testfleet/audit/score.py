"""The documented scoring formula, the readiness checklist and the missing categories.

The score is a range computed from evidence (docs/audit.md has worked examples). Five sub-scores in
[0, 1]; one that was not measured is ``None``:

* ``static``    = per file 1 - (sum over tests of the heaviest severity weight among the test's
                  findings + sum of file-level finding weights) / number of tests, floored at 0
                  (weights high 1.0, medium 0.5, low 0.25); the suite's is the test-weighted mean.
* ``checks``    = share of the passed tests that executed at least one check (``--run``).
* ``stability`` = share of the executed tests that passed and are not flaky (``--run``).
* ``coverage``  = branch coverage of the measured source (line coverage when it has no branch)
                  (``--run``).
* ``mutation``  = killed / (killed + survived) (``--mutate``).

``low = 10 * sum(w_i * s_i)`` over the measured sub-scores, ``high = low + 10 * sum(w_j)`` over the
unmeasured ones: what was not measured widens the range instead of counting as full marks. Weights:
static 0.35, checks 0.10, stability 0.15, coverage 0.20, mutation 0.20. Then the readiness
checklist caps both ends: with any measured FAIL, ``cap = 10 - 1.5 * quality FAILs - 0.5 * presence
FAILs`` (presence items: end-to-end, fault, benchmark and property tests present), so no suite is
10/10 while its own checklist fails. ``score`` is the low end (what the evidence proves; the one
``--fail-under`` compares), ``score_high`` the high end. File scores use the same formula with the
file's own sub-scores and the suite's coverage, without the cap.
"""

from __future__ import annotations

from collections import defaultdict

from testfleet.audit.classify import CATEGORIES, CATEGORY_SIGNALS
from testfleet.audit.model import AuditResult, CheckItem, FileReport, MissingCategory, Severity

WEIGHTS = {"static": 0.35, "checks": 0.10, "stability": 0.15, "coverage": 0.20, "mutation": 0.20}
QUALITY_PENALTY = 1.5
PRESENCE_PENALTY = 0.5
PRESENCE_ITEMS = {"e2e-present", "fault-tests-present", "benchmarks-present", "property-tests-present"}
WEAK_RULES = ("mock-only", "did-not-crash", "constant-assert")
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


def file_subscores(
    fr: FileReport, mutation: tuple[int, int] | None, coverage: float | None = None
) -> dict[str, float | None]:
    ran = [t for t in fr.tests if t.outcome in _RAN]
    passed = [t for t in fr.tests if t.outcome in _PASSING]
    with_counts = [t for t in passed if t.executed_checks is not None]
    subs: dict[str, float | None] = {
        "static": static_subscore(fr),
        "checks": (sum(1 for t in with_counts if (t.executed_checks or 0) > 0) / len(with_counts))
        if with_counts
        else None,
        "stability": (sum(1 for t in ran if t.outcome in _PASSING and not (t.flaky_rate or 0) > 0) / len(ran))
        if ran
        else None,
        "coverage": coverage,
        "mutation": (mutation[0] / (mutation[0] + mutation[1])) if mutation and sum(mutation) else None,
    }
    return subs


def score_range(subs: dict[str, float | None], cap: float = 10.0) -> tuple[float, float] | None:
    """(low, high): unmeasured sub-scores count 0 in ``low`` and 1 in ``high``; both at most ``cap``."""
    if all(v is None for v in subs.values()):
        return None
    low = 10 * sum(WEIGHTS[k] * v for k, v in subs.items() if v is not None)
    high = low + 10 * sum(WEIGHTS[k] for k, v in subs.items() if v is None)
    return round(min(low, cap), 1), round(min(high, cap), 1)


def checklist_cap(items: list[CheckItem]) -> float:
    """10 with no measured FAIL; else 10 - 1.5 per failed quality item - 0.5 per failed presence item."""
    failed = [c.id for c in items if c.status == "measured-fail"]
    if not failed:
        return 10.0
    quality = sum(1 for f in failed if f not in PRESENCE_ITEMS)
    return max(0.0, 10.0 - QUALITY_PENALTY * quality - PRESENCE_PENALTY * (len(failed) - quality))


def coverage_subscore(result: AuditResult) -> float | None:
    m = result.measurement
    return m.branch_rate if m.branch_rate is not None else m.line_rate


def suite_subscores(result: AuditResult) -> dict[str, float | None]:
    """The suite's sub-scores: test-weighted means of the file ones, coverage and mutation overall."""
    subs: dict[str, float | None] = {}
    for key in ("static", "checks", "stability"):
        pairs = [(fr.subscores.get(key), len(fr.tests)) for fr in result.files]
        got = [(v, n) for v, n in pairs if v is not None and n]
        subs[key] = sum(v * n for v, n in got) / sum(n for _, n in got) if got else None
    subs["coverage"] = coverage_subscore(result)
    subs["mutation"] = result.measurement.mutation_score
    return subs


def score_result(result: AuditResult, mutation_by_file: dict[str, tuple[int, int]] | None = None) -> None:
    """Fill file scores, the checklist, the suite score range and missing categories in place."""
    coverage = coverage_subscore(result)
    for fr in result.files:
        fr.subscores = file_subscores(fr, (mutation_by_file or {}).get(fr.path), coverage)
        rng = score_range(fr.subscores) if fr.tests else None
        fr.score, fr.score_high = rng if rng else (None, None)
    result.missing = missing_categories(result)
    result.checklist = checklist(result)
    result.subscores = suite_subscores(result)
    result.score_cap = checklist_cap(result.checklist)
    rng = score_range(result.subscores, result.score_cap) if result.tests else None
    result.score, result.score_high = rng if rng else (None, None)
    result.unmeasured = [k for k, v in result.subscores.items() if v is None]


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
    add(
        "branch-coverage",
        f"branch coverage >= {_pct(BRANCH_TARGET)} with meaningful tests",
        None if br is None else (br >= BRANCH_TARGET and meaningful),
        "not measured (use --run)" if br is None else _pct(br),
        ""
        if br is None
        else f"{m.covered_branches}/{m.total_branches} branches; "
        f"{len(m.zero_check_passes)} passing test(s) executed no check",
    )
    cannot = [f for f in result.findings if f.rule in {"cannot-fail", "placeholder"}]
    add(
        "no-cannot-fail",
        "no test that cannot fail",
        not cannot and meaningful,
        f"{len(cannot)} static, "
        + (f"{len(m.zero_check_passes)} measured" if m.ran else "runtime not measured"),
    )
    weak = [f for f in result.findings if f.rule in WEAK_RULES]
    add(
        "no-weak-tests",
        "no test that only checks mocks, only that nothing crashed, or constants",
        bool(tests) and not weak,
        f"{len(weak)} test(s)"
        + (
            " (" + ", ".join(f"{r} {sum(1 for f in weak if f.rule == r)}" for r in WEAK_RULES) + ")"
            if weak
            else ""
        ),
    )
    for cat, id_, title in [
        ("end-to-end", "e2e-present", "end-to-end tests present"),
        ("fault-injection", "fault-tests-present", "fault-tolerance tests present"),
        ("performance", "benchmarks-present", "performance benchmarks present"),
        ("property-based", "property-tests-present", "property-based tests present"),
    ]:
        members = [t for t in tests if cat in t.types]
        add(id_, title, bool(members), f"{len(members)} test(s)")
    e2e = [t for t in tests if "end-to-end" in t.types]
    e2e_ran = [t for t in e2e if t.outcome in _RAN]
    add(
        "e2e-passing",
        "end-to-end tests passing",
        None if not e2e_ran else all(t.outcome in _PASSING for t in e2e_ran),
        "not measured (use --run)"
        if not e2e_ran
        else f"{sum(1 for t in e2e_ran if t.outcome in _PASSING)}/{len(e2e_ran)} passed",
    )
    ran = [t for t in tests if t.outcome in _RAN]
    add(
        "suite-passing",
        "all collected tests pass under --run",
        None if not ran else all(t.outcome in _PASSING for t in ran),
        "not measured (use --run)"
        if not ran
        else f"{sum(1 for t in ran if t.outcome in _PASSING)}/{len(ran)}",
    )
    add(
        "flaky-rate",
        f"flaky rate below {_pct(FLAKY_BOUND)}",
        None if m.flaky_rate is None else m.flaky_rate < FLAKY_BOUND,
        "not measured (no results-store history)" if m.flaky_rate is None else _pct(m.flaky_rate),
    )
    ms = m.mutation_score
    add(
        "mutation-score",
        f"mutation score >= {_pct(MUTATION_TARGET)}",
        None if ms is None else ms >= MUTATION_TARGET,
        "not measured (no mutant ran; use --mutate)"
        if ms is None
        else f"{_pct(ms)} ({m.mutants_killed}/{m.mutants_run} killed)",
    )
    add(
        "no-pseudo-tested",
        "no pseudo-tested function",
        None if ms is None else not m.pseudo_tested,
        "not measured" if ms is None else f"{len(m.pseudo_tested)} pseudo-tested",
    )
    return items
