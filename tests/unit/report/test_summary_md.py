"""The Markdown summary: what it names, in which order, and its size bound with truncation notes."""

from __future__ import annotations

from testfleet.model import TestResult
from testfleet.report.summary_md import COMMENT_LIMIT, STEP_SUMMARY_LIMIT, SummaryInput, render


def res(
    nodeid: str,
    outcome: str,
    *,
    attempt: int = 1,
    final: bool = True,
    flaky: bool = False,
    seconds: float = 0.1,
    message: str | None = None,
    text: str | None = None,
    run: str = "head",
) -> TestResult:
    return TestResult(
        run_id=run,
        nodeid=nodeid,
        outcome=outcome,
        attempt=attempt,
        final=final,
        flaky=flaky,
        call_duration=seconds,
        message=message,
        failure_text=text,
    )


def head_results() -> list[TestResult]:
    return [
        res("t.py::test_new_break", "failed", message="AssertionError: new", text="E  AssertionError: new"),
        res("t.py::test_old_break", "failed", message="AssertionError: old"),
        res("t.py::test_flaky", "failed", final=False, message="ValueError: once"),
        res("t.py::test_flaky", "passed", attempt=2, flaky=True, seconds=0.2),
        res("t.py::test_slow", "passed", seconds=9.5),
        res("t.py::test_fixed", "passed"),
    ]


def test_names_failures_new_first_flaky_slowest_and_the_base_comparison() -> None:
    base = [
        res("t.py::test_new_break", "passed", run="b"),
        res("t.py::test_old_break", "failed", run="b"),
        res("t.py::test_fixed", "failed", run="b"),
        res("t.py::test_slow", "passed", seconds=1.0, run="b"),
    ]
    text = render(
        SummaryInput("head", head_results(), seconds=12.0, base_run="b", base_label="main", base_results=base)
    )
    assert text.startswith("## ❌ testfleet: 3 passed, 2 failed, 1 flaky")
    order = [
        text.index(s)
        for s in (
            "### New failures (1)",
            "`t.py::test_new_break` (was passed)",
            "### Still failing (1)",
            "`t.py::test_old_break`",
            "### Flaky tests (1)",
            "| `t.py::test_flaky` | 2 | failed: ValueError: once |",
            "### Slowest tests",
            "| `t.py::test_slow` | 9.50 | passed |",
            "### Compared with the base run",
        )
    ]
    assert order == sorted(order)
    assert "Base run `b` on main" in text and "1 newly failing, 1 fixed, 1 still failing" in text
    assert "- fixed: `t.py::test_fixed` (failed → passed)" in text
    assert "- slower: `t.py::test_slow` 1.00 s → 9.50 s" in text
    assert "E  AssertionError: new" in text  # the failure text, in a details block


def test_without_history_failures_are_just_failures() -> None:
    text = render(SummaryInput("head", head_results()))
    assert "### Failures (2)" in text and "New failures" not in text and "Compared" not in text


def test_previous_outcomes_decide_what_is_new_without_a_base() -> None:
    text = render(SummaryInput("head", head_results(), previous_outcomes={"t.py::test_old_break": "failed"}))
    assert "### New failures (1)" in text and "### Still failing (1)" in text


def test_a_huge_run_stays_under_the_limit_with_notes_saying_what_was_left_out() -> None:
    results = [
        res(f"t.py::test_{i:04d}", "failed", message=f"AssertionError: {i}", text="x" * 20_000)
        for i in range(200)
    ]
    results += [res(f"t.py::test_flaky_{i:04d}", "passed", flaky=True) for i in range(3000)]
    for limit in (STEP_SUMMARY_LIMIT, COMMENT_LIMIT):
        text = render(SummaryInput("head", results, previous_outcomes={"t.py::test_0000": "passed"}), limit)
        size = len(text.encode())
        assert limit * 0.9 < size <= limit, (limit, size)
        assert "the summary is limited to" in text
        assert "`t.py::test_0000`" in text and "`t.py::test_0001`" in text  # new failure first, then the rest
        assert "testfleet show head" in text
    small = render(SummaryInput("head", results), COMMENT_LIMIT)
    assert "more failures not shown" in small or "details of" in small
    assert "Flaky tests" in small  # every section is at least named
