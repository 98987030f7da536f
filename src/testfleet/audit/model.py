"""Value types of an audit: rules, findings, tests, files, measurements and the whole result.

Everything here is plain data (dataclasses of str/int/float/list/dict) so that the JSON report
is a direct dump and the reports never recompute anything.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def weight(self) -> float:
        return {"high": 1.0, "medium": 0.5, "low": 0.25}[self.value]


@dataclass(frozen=True)
class Rule:
    """A static rule: ``id`` is stable (other tools match on it), ``definition`` is one line."""

    id: str
    severity: Severity
    definition: str


@dataclass
class Finding:
    """One rule violation at one place. ``test`` is the node id inside the file or None."""

    rule: str
    path: str
    line: int
    col: int
    test: str | None
    message: str
    severity: str = "medium"


@dataclass
class TestCaseInfo:
    """One collectable test found statically, with its classification and measurements."""

    __test__ = False  # not a pytest test class

    test: str  # node id within the file, e.g. "TestX::test_y"
    path: str
    line: int
    style: str  # "pytest" | "unittest"
    types: list[str] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    # measured (None = not measured)
    outcome: str | None = None
    duration: float | None = None
    executed_checks: int | None = None
    flaky_rate: float | None = None


@dataclass
class FileReport:
    path: str
    tests: list[TestCaseInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # why the file could not be audited (syntax error, encoding, size)
    score: float | None = None  # low end of the range
    score_high: float | None = None
    subscores: dict[str, float | None] = field(default_factory=dict)


@dataclass
class ComponentReport:
    """Coverage and mutation results for one source module or package."""

    name: str
    kind: str  # "package" | "module" | "function" | "class"
    statements: int = 0
    covered_statements: int = 0
    branches: int = 0
    covered_branches: int = 0
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    pseudo_tested: list[str] = field(default_factory=list)

    @property
    def line_rate(self) -> float | None:
        return self.covered_statements / self.statements if self.statements else None

    @property
    def branch_rate(self) -> float | None:
        return self.covered_branches / self.branches if self.branches else None

    @property
    def mutation_score(self) -> float | None:
        ran = self.killed + self.survived
        return self.killed / ran if ran else None


@dataclass
class Measurement:
    """What ``--run`` / ``--mutate`` measured, and what they could not."""

    ran: bool = False
    command: list[str] = field(default_factory=list)
    exit_code: int | None = None
    via: str | None = None  # "testfleet" | "pytest"
    total_branches: int = 0
    covered_branches: int = 0
    total_statements: int = 0
    covered_statements: int = 0
    components: list[ComponentReport] = field(default_factory=list)
    functions: list[ComponentReport] = field(default_factory=list)
    zero_check_passes: list[str] = field(default_factory=list)  # "path::test" passed, 0 checks
    flaky_rate: float | None = None
    mutants_run: int = 0
    mutants_killed: int = 0
    pseudo_tested: list[str] = field(default_factory=list)
    mutant_results: list[dict[str, Any]] = field(default_factory=list)
    mutation_seconds: float | None = None  # wall time of the mutation phase
    mutation_via: str | None = None  # "fleet" | "pytest"
    problems: list[str] = field(default_factory=list)  # what could not be measured, and why

    @property
    def branch_rate(self) -> float | None:
        return self.covered_branches / self.total_branches if self.total_branches else None

    @property
    def line_rate(self) -> float | None:
        return self.covered_statements / self.total_statements if self.total_statements else None

    @property
    def mutation_score(self) -> float | None:
        return self.mutants_killed / self.mutants_run if self.mutants_run else None


@dataclass
class CheckItem:
    """One readiness item: status is measured-pass, measured-fail or not-measured."""

    id: str
    title: str
    status: str
    value: str
    detail: str = ""


@dataclass
class MissingCategory:
    category: str
    searched_for: str


@dataclass
class AuditResult:
    root: str
    files: list[FileReport] = field(default_factory=list)
    measurement: Measurement = field(default_factory=Measurement)
    checklist: list[CheckItem] = field(default_factory=list)
    missing: list[MissingCategory] = field(default_factory=list)
    score: float | None = None  # low end of the score range: what the evidence proves
    score_high: float | None = None  # high end: unmeasured sub-scores counted as perfect
    score_cap: float = 10.0  # the readiness checklist's cap (10 when nothing FAILs)
    subscores: dict[str, float | None] = field(default_factory=dict)
    unmeasured: list[str] = field(default_factory=list)  # sub-scores that widen the range
    rules: list[Rule] = field(default_factory=list)

    @property
    def score_text(self) -> str:
        """``7.1/10``, ``2.8-4.8/10 (not measured: mutation)`` or ``not measured``."""
        return score_text(self.score, self.score_high, self.unmeasured)

    @property
    def findings(self) -> list[Finding]:
        return [f for fr in self.files for f in fr.findings]

    @property
    def tests(self) -> list[TestCaseInfo]:
        return [t for fr in self.files for t in fr.tests]

    def to_dict(self) -> dict[str, Any]:
        m = self.measurement
        data: dict[str, Any] = {
            "schema": "testfleet-audit/1",
            "root": self.root,
            "score": self.score,
            "score_high": self.score_high,
            "score_cap": self.score_cap,
            "subscores": self.subscores,
            "unmeasured": self.unmeasured,
            "rules": [
                {"id": r.id, "severity": r.severity.value, "definition": r.definition} for r in self.rules
            ],
            "findings": [asdict(f) for f in self.findings],
            "files": [
                {
                    "path": fr.path,
                    "error": fr.error,
                    "score": fr.score,
                    "score_high": fr.score_high,
                    "subscores": fr.subscores,
                    "tests": [asdict(t) for t in fr.tests],
                    "findings": [asdict(f) for f in fr.findings],
                }
                for fr in self.files
            ],
            "measurement": {
                **{k: v for k, v in asdict(m).items() if k not in ("components", "functions")},
                "branch_rate": m.branch_rate,
                "line_rate": m.line_rate,
                "mutation_score": m.mutation_score,
                "components": [_component_dict(c) for c in m.components],
                "functions": [_component_dict(c) for c in m.functions],
            },
            "checklist": [asdict(c) for c in self.checklist],
            "missing_categories": [asdict(c) for c in self.missing],
        }
        return data


def score_text(low: float | None, high: float | None, unmeasured: list[str] | None = None) -> str:
    if low is None:
        return "not measured"
    if high is None or high == low:
        return f"{low:.1f}/10"
    why = f" ({', '.join(unmeasured)} not measured)" if unmeasured else ""
    return f"{low:.1f}-{high:.1f}/10{why}"


def _component_dict(c: ComponentReport) -> dict[str, Any]:
    d = asdict(c)
    d.update(line_rate=c.line_rate, branch_rate=c.branch_rate, mutation_score=c.mutation_score)
    return d
