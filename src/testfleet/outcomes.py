"""Turning worker reports into one honest outcome per test, and synthesizing the reports
for outcomes pytest has no word for (crashed, timeout, unschedulable, not_run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from testfleet.model import Outcome

# Outcomes an attempt may be retried after (--retries).
RETRYABLE = {Outcome.FAILED.value, Outcome.ERROR.value, Outcome.CRASHED.value, Outcome.TIMEOUT.value}

# Outcomes the controller decides itself; they are shown with their own words.
CONTROLLER_OUTCOMES = {
    Outcome.CRASHED.value: ("crashed", "C", "CRASHED"),
    Outcome.TIMEOUT.value: ("timeout", "T", "TIMEOUT"),
    Outcome.UNSCHEDULABLE.value: ("unschedulable", "U", "UNSCHEDULABLE"),
}


def outcome_of(reports: Sequence[pytest.TestReport]) -> Outcome:
    by_when = {r.when: r for r in reports}
    setup, call, teardown = by_when.get("setup"), by_when.get("call"), by_when.get("teardown")
    if setup is not None and setup.failed:
        return Outcome.ERROR
    if setup is not None and setup.skipped:
        return Outcome.XFAILED if hasattr(setup, "wasxfail") else Outcome.SKIPPED
    if call is not None:
        if hasattr(call, "wasxfail"):
            if call.skipped:
                return Outcome.XFAILED
            if call.passed:
                return Outcome.ERROR if teardown is not None and teardown.failed else Outcome.XPASSED
        if call.failed:
            return Outcome.FAILED
        if call.skipped:
            return Outcome.ERROR if teardown is not None and teardown.failed else Outcome.SKIPPED
    if teardown is not None and teardown.failed:
        return Outcome.ERROR
    if teardown is None and call is None:
        # Nothing after setup arrived: the test did not complete.
        return Outcome.CRASHED
    return Outcome.PASSED


def one_line(report: pytest.TestReport) -> str | None:
    """A one-line message for a report that did not pass."""
    lr = report.longrepr
    if lr is None:
        return getattr(report, "wasxfail", None) or None
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2]).removeprefix("Skipped: ")
    crash = getattr(lr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message).strip().splitlines()[0][:500] if str(crash.message).strip() else None
    text = str(lr).strip()
    if not text:
        return None
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")]
    return (lines[0][1:].strip() if lines else text.splitlines()[-1])[:500]


def message_of(reports: Sequence[pytest.TestReport], outcome: Outcome) -> str | None:
    if outcome == Outcome.PASSED:
        return None
    for rep in reports:
        if rep.failed or rep.skipped or hasattr(rep, "wasxfail"):
            msg = one_line(rep)
            if msg:
                return msg
    return None


def captured(reports: Sequence[pytest.TestReport], stream: str) -> str:
    # A report carries the sections of the phases before it too ("Captured stdout call" is in
    # the call and the teardown report): each title counts once.
    parts: dict[str, str] = {}
    for rep in reports:
        for title, body in rep.sections:
            if title.startswith("Captured") and title.split()[1] == stream:
                parts.setdefault(title, body)
    return "".join(parts.values())


def synthetic_reports(
    nodeid: str,
    location: tuple[str, int | None, str],
    outcome: str,
    longrepr: str,
    sections: Sequence[tuple[str, str]] = (),
    duration: float = 0.0,
    prior: Sequence[pytest.TestReport] = (),
    fail: bool = True,
) -> list[pytest.TestReport]:
    """setup/call/teardown reports for an outcome the controller decided.

    ``prior`` are the reports the worker sent before it died (kept, e.g. a passed setup).
    A skip (dependency failed) is a skipped setup; everything else is a failed call.
    """
    reports = [r for r in prior if r.when == "setup" and r.passed]

    def make(
        when: str, out: str, lr: Any, secs: Sequence[tuple[str, str]] = (), dur: float = 0.0
    ) -> pytest.TestReport:
        rep = pytest.TestReport(nodeid, location, {}, out, lr, when, list(secs), dur)  # type: ignore[arg-type]
        rep.testfleet_outcome = outcome  # type: ignore[attr-defined]
        return rep

    if outcome == Outcome.SKIPPED.value or not fail:
        lr = (str(location[0]), (location[1] or 0) + 1, f"Skipped: {longrepr}")
        return [make("setup", "skipped", lr), make("teardown", "passed", None)]
    if not reports:
        reports = [make("setup", "passed", None)]
    reports.append(make("call", "failed", longrepr, sections, duration))
    reports.append(make("teardown", "passed", None))
    return reports
