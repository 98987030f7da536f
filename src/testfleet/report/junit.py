"""Retries in pytest's ``--junitxml`` file: Surefire's flaky and rerun elements.

The controller re-emits only the final attempt of each test through pytest's hooks, so the
file pytest writes has one ``<testcase>`` per test, as it must. This module adds the earlier
attempts, the way Maven Surefire reports reruns (and Jenkins' JUnit plugin, its
flaky-test-handler and GitLab read them):

- a test that passed after failed attempts (``flaky``) gets one ``<flakyFailure>`` (or
  ``<flakyError>``) per failed attempt inside its passing ``<testcase>``;
- a test that still failed after retries gets one ``<rerunFailure>`` (or ``<rerunError>``) per
  earlier attempt next to its ``<failure>``.

Each carries ``message`` and ``type`` attributes and ``<stackTrace>``, ``<system-out>`` and
``<system-err>`` children. An attempt that ended in ``error`` (setup or teardown) is an
``Error``; failed, crashed and timed-out attempts are ``Failure``s.

Why the file is rewritten at the end of the session rather than pytest's ``LogXML`` hooked:
pytest builds the whole document in memory and writes it once, in its
``pytest_sessionfinish``; reaching into it while tests are reported would need its private
classes (``_NodeReporter``, the stash key of ``LogXML``) and an exact hook order around its
teardown handling. The written file is a documented format. So after pytest has written it
(the controller's ``pytest_sessionfinish`` wrapper, after ``yield``) the file is parsed,
the elements are added to the matching testcases, and the result replaces the file
atomically (a temporary file in the same directory, then ``os.replace``), so a reader never
sees a half-written file. Testcases are matched by ``classname`` and ``name`` as pytest
derives them from the node id (its own ``mangle_test_address``, so both agree on every pytest
version), with ``--junitprefix`` applied.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testfleet.model import TestResult

ERROR_OUTCOMES = frozenset({"error"})
_TYPE = re.compile(r"^(?:E\s+)?([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failed|Warning))\b")
# XML 1.0 cannot hold these characters at all, escaped or not.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Retried:
    """One test with more than one attempt, in attempt order (the last one is final)."""

    nodeid: str
    attempts: tuple[TestResult, ...]

    @property
    def final(self) -> TestResult:
        return self.attempts[-1]


def retried(attempts: Mapping[int, Sequence[TestResult]] | Iterable[Sequence[TestResult]]) -> list[Retried]:
    """The tests of a run that ran more than once (``RunState.attempts`` or lists of attempts)."""
    groups = attempts.values() if isinstance(attempts, Mapping) else attempts
    return [Retried(a[-1].nodeid, tuple(a)) for a in groups if len(a) > 1]


def clean(text: str | None) -> str:
    return _ILLEGAL.sub("\ufffd", text or "")


def exception_type(result: TestResult) -> str:
    """The exception class named by the attempt's message, else its outcome."""
    for text in (result.message or "", *(result.failure_text or "").splitlines()[-1:]):
        m = _TYPE.match(text.strip())
        if m:
            return m.group(1)
    return result.outcome


def attempt_element(tag: str, result: TestResult) -> ET.Element:
    """``<flakyFailure>``, ``<rerunError>``, ...: one earlier attempt."""
    el = ET.Element(tag, {"message": clean(result.message or result.outcome), "type": exception_type(result)})
    ET.SubElement(el, "stackTrace").text = clean(result.failure_text or result.message or result.outcome)
    if result.stdout:
        ET.SubElement(el, "system-out").text = clean(result.stdout)
    if result.stderr:
        ET.SubElement(el, "system-err").text = clean(result.stderr)
    return el


def elements_for(test: Retried) -> list[ET.Element]:
    """The elements to add to the test's testcase (none if it passed first time)."""
    final_passed = test.final.outcome in ("passed", "xfailed", "skipped", "xpassed")
    prefix = "flaky" if final_passed else "rerun"
    out = []
    for attempt in test.attempts[:-1]:
        if final_passed and attempt.outcome in ("passed", "skipped", "xfailed"):
            continue
        kind = "Error" if attempt.outcome in ERROR_OUTCOMES else "Failure"
        out.append(attempt_element(prefix + kind, attempt))
    return out


def default_names(nodeid: str, prefix: str | None = None) -> tuple[str, str]:
    """(classname, name) of a node id's testcase, as pytest's junitxml writes them."""
    try:
        from _pytest.junitxml import mangle_test_address

        names = list(mangle_test_address(nodeid))
    except (ImportError, AttributeError):  # a pytest without it: its long-standing rule
        path, bracket, params = nodeid.partition("[")
        names = path.split("::")
        names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
        names[-1] += bracket + params
    classnames = names[:-1]
    if prefix:
        classnames.insert(0, prefix)
    return ".".join(classnames), names[-1]


def add_retries(
    path: str | os.PathLike[str], tests: Sequence[Retried], *, prefix: str | None = None
) -> list[str]:
    """Add the attempts of ``tests`` to the JUnit file at ``path``, in place and atomically.

    Returns the node ids whose testcase was not found exactly once (left as they were).
    """
    if not tests:
        return []
    tree = ET.parse(path)
    index: dict[tuple[str, str], list[ET.Element]] = {}
    for case in tree.getroot().iter("testcase"):
        index.setdefault((case.get("classname", ""), case.get("name", "")), []).append(case)
    missed = []
    for test in tests:
        cases = index.get(default_names(test.nodeid, prefix), [])
        if len(cases) != 1:
            missed.append(test.nodeid)
            continue
        insert_attempts(cases[0], elements_for(test))
    write_atomically(tree.getroot(), path)
    return missed


def insert_attempts(case: ET.Element, elements: list[ET.Element]) -> None:
    """Put the elements after the outcome (failure/error/skipped), before the captured output."""
    children = list(case)
    at = next((i for i, c in enumerate(children) if c.tag in ("system-out", "system-err")), len(children))
    for offset, el in enumerate(elements):
        case.insert(at + offset, el)


def write_atomically(root: ET.Element, path: str | os.PathLike[str]) -> None:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="utf-8"?>')
            out.write(ET.tostring(root, encoding="unicode"))
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
