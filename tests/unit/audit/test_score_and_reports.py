"""The scoring formula, the checklist statuses and the three report formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testfleet.audit.engine import run_audit
from testfleet.audit.model import AuditResult, CheckItem, FileReport, Finding, TestCaseInfo
from testfleet.audit.model import FileReport as FR
from testfleet.audit.options import AuditOptions
from testfleet.audit.report_html import render as render_html
from testfleet.audit.report_json import render as render_json
from testfleet.audit.report_md import render as render_md
from testfleet.audit.score import checklist_cap, file_subscores, score_range, score_result, static_subscore

SUITE = """
import pytest, subprocess, sys
from hypothesis import given, strategies as st

def test_cannot_fail():
    compute()

class TestThing:
    def test_weak(self):
        assert compute() is not None

    def test_good(self):
        assert compute() == 1

@given(st.integers())
def test_property(x):
    assert x == x + 0

def test_cli():
    out = subprocess.run([sys.executable, "-m", "thing"], capture_output=True)
    assert out.returncode == 0
"""


def _file(findings: list[tuple[str | None, str]], n_tests: int) -> FileReport:
    fr = FileReport("t.py", tests=[TestCaseInfo(f"test_{i}", "t.py", i, "pytest") for i in range(n_tests)])
    fr.findings = [Finding("x", "t.py", 1, 1, test, "m", sev) for test, sev in findings]
    return fr


def test_static_subscore_uses_heaviest_finding_per_test_and_file_level_weights() -> None:
    fr = _file([("test_0", "high"), ("test_0", "low"), ("test_1", "medium"), (None, "low")], 4)
    assert static_subscore(fr) == pytest.approx(1 - (1.0 + 0.5 + 0.25) / 4)


def test_static_subscore_floors_at_zero_and_is_none_without_tests() -> None:
    assert static_subscore(_file([(None, "high")] * 5, 1)) == 0.0
    assert static_subscore(_file([], 0)) is None


def test_unmeasured_subscores_widen_the_range_instead_of_counting_as_full_marks() -> None:
    none = {"static": None, "checks": None, "stability": None, "coverage": None, "mutation": None}
    assert score_range({**none, "static": 0.5}) == (1.8, 8.2)  # 10 * 0.35 * 0.5 = 1.75; + 6.5
    assert score_range(
        {"static": 1.0, "checks": 0.0, "stability": 1.0, "coverage": 0.5, "mutation": 1.0}
    ) == (8.0, 8.0)
    assert score_range(none) is None
    assert score_range({**none, "static": 1.0}, cap=6.0) == (3.5, 6.0)


def test_checklist_cap_counts_quality_and_presence_fails() -> None:
    def item(id_: str, status: str) -> CheckItem:
        return CheckItem(id_, id_, status, "")

    assert (
        checklist_cap([item("branch-coverage", "measured-pass"), item("mutation-score", "not-measured")])
        == 10
    )
    assert (
        checklist_cap([item("branch-coverage", "measured-fail"), item("e2e-present", "measured-fail")]) == 8.0
    )
    assert checklist_cap([item("e2e-present", "measured-fail")]) == 9.5


def test_suite_score_is_consistent_with_its_checklist() -> None:
    """Issue 22: 10.0/10 was printed above 'branch coverage: FAIL 55.0%' and 'all tests pass: FAIL'."""
    tests = [
        TestCaseInfo(
            f"test_{i}",
            "t.py",
            i,
            "pytest",
            types=["unit", "end-to-end", "performance", "fault-injection", "property-based"],
            outcome="passed" if i else "failed",
            executed_checks=1,
        )
        for i in range(40)
    ]
    result = AuditResult(root=".", files=[FR("t.py", tests=tests)])
    m = result.measurement
    m.ran, m.total_branches, m.covered_branches = True, 100, 55
    m.total_statements, m.covered_statements = 200, 150
    m.mutants_run, m.mutants_killed = 10, 10
    score_result(result)
    failed = {c.id for c in result.checklist if c.status == "measured-fail"}
    assert failed == {"branch-coverage", "suite-passing", "e2e-passing"}
    assert result.score_cap == 10 - 3 * 1.5
    assert result.score is not None and result.score_high is not None
    assert result.score == result.score_high <= result.score_cap < 10
    assert result.unmeasured == []
    assert result.subscores["coverage"] == 0.55


def test_file_subscores_from_measured_outcomes() -> None:
    fr = _file([], 4)
    for t, (outcome, checks) in zip(
        fr.tests, [("passed", 2), ("passed", 0), ("failed", 1), ("skipped", 0)], strict=True
    ):
        t.outcome, t.executed_checks = outcome, checks
    subs = file_subscores(fr, (3, 1), 0.4)
    assert subs == {
        "static": 1.0,
        "checks": 0.5,
        "stability": pytest.approx(2 / 3),
        "coverage": 0.4,
        "mutation": 0.75,
    }


@pytest.fixture
def audited(tmp_path: Path):
    (tmp_path / "test_suite.py").write_text(SUITE, encoding="utf-8")
    return run_audit(AuditOptions(paths=[str(tmp_path)], root=str(tmp_path)))


def test_static_result_classifies_and_scores(audited) -> None:
    types = {t.test: t.types for t in audited.tests}
    assert types["test_property"] == ["unit", "property-based"]
    assert types["test_cli"] == ["end-to-end"]
    assert {f.rule for f in audited.findings} == {"cannot-fail", "did-not-crash"}
    # static 1 - (1.0 + 0.5) / 5 = 0.7 -> 10 * 0.35 * 0.7 = 2.45 proven, + 6.5 unmeasured;
    # capped at 10 - 1.5 (cannot-fail) - 1.5 (weak tests) - 0.5 (benchmarks) - 0.5 (fault) = 6.0
    assert (audited.score, audited.score_high, audited.score_cap) == (2.4, 6.0, 6.0)
    status = {c.id: c.status for c in audited.checklist}
    assert status["e2e-present"] == "measured-pass"
    assert status["benchmarks-present"] == "measured-fail"
    assert status["no-cannot-fail"] == "measured-fail"
    assert status["branch-coverage"] == "not-measured"
    assert status["mutation-score"] == "not-measured"
    assert [m.category for m in audited.missing] == [
        "integration",
        "performance",
        "fault-injection",
        "security",
    ]


def test_json_report_schema(audited) -> None:
    data = json.loads(render_json(audited))
    assert data["schema"] == "testfleet-audit/1"
    assert {
        "rule": "did-not-crash",
        "path": "test_suite.py",
        "line": 10,
        "test": "TestThing::test_weak",
    }.items() <= next(f for f in data["findings"] if f["rule"] == "did-not-crash").items()
    assert (data["score"], data["score_high"]) == (2.4, 6.0)
    assert data["unmeasured"] == ["checks", "stability", "coverage", "mutation"]
    assert data["measurement"]["mutation_score"] is None
    assert data["files"][0]["tests"][0]["test"] == "test_cannot_fail"
    assert {c["id"] for c in data["checklist"]} >= {"branch-coverage", "flaky-rate", "mutation-score"}


def test_markdown_report_reads_like_an_audit(audited) -> None:
    md = render_md(audited)
    assert md.startswith("# Test suite audit")
    assert "**Score: 2.4-6.0/10 (checks, stability, coverage, mutation not measured)**" in md
    assert "Capped at 6.0 by the checklist's FAIL items." in md
    assert "| mutation score >= 70.0% | not measured | not measured (no mutant ran; use --mutate) |" in md
    assert "- line 5: **cannot-fail** (high) `test_cannot_fail`: test contains no effective check" in md
    assert "- **performance**: none found; searched for benchmark fixture" in md


def test_html_report_is_self_contained_and_escaped(audited) -> None:
    audited.files[0].findings[0].message = "<script>alert(1)</script>"
    html = render_html(audited)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "measured-fail" in html
