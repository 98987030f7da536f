"""One outcome per test from real pytest.TestReport objects; messages; synthetic reports."""

from __future__ import annotations

from typing import Any

import pytest

from testfleet.model import Outcome
from testfleet.outcomes import captured, message_of, one_line, outcome_of, synthetic_reports

NODE = "t.py::test_x"
LOC = ("t.py", 4, "test_x")


def rep(when: str, outcome: str, longrepr: Any = None, **extra: Any) -> pytest.TestReport:
    return pytest.TestReport(NODE, LOC, {}, outcome, longrepr, when, **extra)  # type: ignore[arg-type]


def run(
    setup: str | None, call: str | None = None, teardown: str | None = None, **call_extra: Any
) -> Outcome:
    reports = []
    if setup is not None:
        reports.append(rep("setup", setup))
    if call is not None:
        reports.append(rep("call", call, **call_extra))
    if teardown is not None:
        reports.append(rep("teardown", teardown))
    return outcome_of(reports)


@pytest.mark.parametrize(
    ("phases", "extra", "expected"),
    [
        (("passed", "passed", "passed"), {}, Outcome.PASSED),
        (("failed", None, "passed"), {}, Outcome.ERROR),
        (("skipped", None, "passed"), {}, Outcome.SKIPPED),
        (("passed", "failed", "passed"), {}, Outcome.FAILED),
        (("passed", "failed", "failed"), {}, Outcome.FAILED),
        (("passed", "skipped", "passed"), {}, Outcome.SKIPPED),
        (("passed", "skipped", "passed"), {"wasxfail": "flaky api"}, Outcome.XFAILED),
        (("passed", "passed", "passed"), {"wasxfail": "flaky api"}, Outcome.XPASSED),
        (("passed", "passed", "failed"), {"wasxfail": ""}, Outcome.ERROR),
        (("passed", "passed", "failed"), {}, Outcome.ERROR),
        (("passed", None, None), {}, Outcome.CRASHED),
        ((None, None, None), {}, Outcome.CRASHED),
        (("passed", "passed", None), {}, Outcome.PASSED),
    ],
    ids=[
        "passed",
        "setup-failed",
        "setup-skipped",
        "call-failed",
        "call-and-teardown-failed",
        "call-skipped",
        "xfailed",
        "xpassed",
        "xpassed-teardown-failed",
        "teardown-failed",
        "no-call-no-teardown",
        "no-reports",
        "no-teardown",
    ],
)
def test_outcome_of(
    phases: tuple[str | None, str | None, str | None], extra: dict[str, Any], expected: Outcome
) -> None:
    assert run(*phases, **extra) is expected


def test_setup_skipped_by_xfail_run_false_is_xfailed() -> None:
    assert (
        outcome_of([rep("setup", "skipped", wasxfail="not now"), rep("teardown", "passed")])
        is Outcome.XFAILED
    )


def test_report_order_does_not_matter() -> None:
    reports = [rep("teardown", "passed"), rep("call", "failed"), rep("setup", "passed")]
    assert outcome_of(reports) is Outcome.FAILED


def test_teardown_failure_after_a_skipped_call_is_an_error() -> None:
    assert run("passed", "skipped", "failed") is Outcome.ERROR


def test_teardown_failure_of_an_xfail_test_stays_xfailed() -> None:
    # pytest itself turns the failed teardown of an xfail-marked test into a skipped report with wasxfail.
    reports = [
        rep("setup", "passed"),
        rep("call", "skipped", wasxfail=""),
        rep("teardown", "skipped", wasxfail=""),
    ]
    assert outcome_of(reports) is Outcome.XFAILED


# --------------------------------------------------------------------------- one_line and friends


class FakeCrash:
    def __init__(self, message: str) -> None:
        self.message = message


class FakeLongrepr:
    """Stands in for pytest's ExceptionChainRepr: only reprcrash is read."""

    def __init__(self, message: str) -> None:
        self.reprcrash = FakeCrash(message)

    def __str__(self) -> str:
        return "full traceback"


def test_one_line_of_a_skip_tuple_drops_the_prefix() -> None:
    assert one_line(rep("setup", "skipped", ("t.py", 5, "Skipped: needs linux"))) == "needs linux"
    assert one_line(rep("setup", "skipped", ("t.py", 5, "plain reason"))) == "plain reason"


def test_one_line_of_a_crash_is_the_first_line_of_its_message() -> None:
    assert one_line(rep("call", "failed", FakeLongrepr("AssertionError: boom\nassert 1 == 2"))) == (
        "AssertionError: boom"
    )
    assert one_line(rep("call", "failed", FakeLongrepr("x" * 600))) == "x" * 500
    assert one_line(rep("call", "failed", FakeLongrepr("   \n "))) is None


def test_one_line_of_text_prefers_the_first_e_line() -> None:
    text = "def test_x():\n>       assert f() == 3\nE       assert 2 == 3\nE        +  where 2 = f()\n\nt.py:4: Error"
    assert one_line(rep("call", "failed", text)) == "assert 2 == 3"
    assert one_line(rep("call", "failed", "worker died\nexit status -9")) == "exit status -9"
    assert one_line(rep("call", "failed", "  \n")) is None


def test_one_line_without_longrepr_uses_the_xfail_reason() -> None:
    assert one_line(rep("call", "passed", wasxfail="known bug")) == "known bug"
    assert one_line(rep("call", "passed", wasxfail="")) is None
    assert one_line(rep("call", "passed")) is None


def test_message_of_is_none_for_passed_and_the_first_message_otherwise() -> None:
    reports = [
        rep("setup", "passed"),
        rep("call", "failed", "E   boom"),
        rep("teardown", "failed", "E   later"),
    ]
    assert message_of(reports, Outcome.FAILED) == "boom"
    assert message_of(reports, Outcome.PASSED) is None
    assert message_of([rep("setup", "passed"), rep("call", "passed")], Outcome.CRASHED) is None


def test_captured_joins_one_stream_across_phases() -> None:
    reports = [
        rep("setup", "passed", sections=[("Captured stdout setup", "a\n"), ("Captured log setup", "log\n")]),
        rep(
            "call",
            "failed",
            "E x",
            sections=[("Captured stderr call", "err\n"), ("Captured stdout call", "b\n")],
        ),
    ]
    assert captured(reports, "stdout") == "a\nb\n"
    assert captured(reports, "stderr") == "err\n"
    assert captured(reports, "log") == "log\n"


# --------------------------------------------------------------------------- synthetic reports


INFO = (NODE, ("t.py", 4, "test_x"))


def shape(reports: list[pytest.TestReport]) -> list[tuple[str, str]]:
    return [(r.when, r.outcome) for r in reports]


@pytest.mark.parametrize("outcome", ["crashed", "timeout"])
def test_controller_failure_is_a_failed_call_between_passed_phases(outcome: str) -> None:
    reports = synthetic_reports(
        *INFO, outcome, "worker died (signal 9)", [("Captured stdout call", "hi")], 2.5
    )
    assert shape(reports) == [("setup", "passed"), ("call", "failed"), ("teardown", "passed")]
    call = reports[1]
    assert (call.nodeid, call.location, call.longrepr, call.duration) == (
        NODE,
        LOC,
        "worker died (signal 9)",
        2.5,
    )
    assert call.sections == [("Captured stdout call", "hi")]
    assert [r.testfleet_outcome for r in reports] == [outcome] * 3
    assert outcome_of(reports) is Outcome.FAILED
    assert message_of(reports, Outcome(outcome)) == "worker died (signal 9)"


def test_prior_passed_setup_is_kept_and_other_prior_reports_dropped() -> None:
    setup = rep("setup", "passed", duration=0.3)
    prior = [setup, rep("call", "failed", "E old")]
    reports = synthetic_reports(*INFO, "crashed", "died", prior=prior)
    assert reports[0] is setup
    assert shape(reports) == [("setup", "passed"), ("call", "failed"), ("teardown", "passed")]
    assert reports[1].longrepr == "died"


def test_prior_failed_setup_is_replaced_by_a_passed_one() -> None:
    reports = synthetic_reports(*INFO, "timeout", "too slow", prior=[rep("setup", "failed", "E x")])
    assert shape(reports) == [("setup", "passed"), ("call", "failed"), ("teardown", "passed")]
    assert reports[0].testfleet_outcome == "timeout"


def test_skip_is_a_skipped_setup_with_a_location_tuple() -> None:
    reports = synthetic_reports(*INFO, "skipped", "depends on t.py::test_a, which ended failed")
    assert shape(reports) == [("setup", "skipped"), ("teardown", "passed")]
    assert reports[0].longrepr == ("t.py", 5, "Skipped: depends on t.py::test_a, which ended failed")
    assert outcome_of(reports) is Outcome.SKIPPED
    assert one_line(reports[0]) == "depends on t.py::test_a, which ended failed"


def test_fail_false_reports_a_skip_but_keeps_the_real_outcome() -> None:
    reports = synthetic_reports(
        NODE, ("t.py", None, "test_x"), "unschedulable", "no worker can run it", fail=False
    )
    assert shape(reports) == [("setup", "skipped"), ("teardown", "passed")]
    assert reports[0].longrepr == ("t.py", 1, "Skipped: no worker can run it")
    assert [r.testfleet_outcome for r in reports] == ["unschedulable", "unschedulable"]
