"""Surefire's flaky/rerun elements added to a pytest JUnit file: where they go, what they hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from testfleet.model import TestResult
from testfleet.report import junit

PYTEST_XML = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" '
    'errors="0" failures="1" skipped="0" tests="3" time="1.0">'
    '<testcase classname="tests.test_a" name="test_flaky[x-1]" file="tests/test_a.py" line="3" time="0.1">'
    '<properties><property name="k" value="v"/></properties><system-out>final out</system-out></testcase>'
    '<testcase classname="tests.test_a.TestC" name="test_broken" time="0.1"><failure message="boom">tb'
    "</failure></testcase>"
    '<testcase classname="tests.test_a" name="test_ok" time="0.1"/>'
    "</testsuite></testsuites>"
)


def attempt(nodeid: str, outcome: str, n: int, message: str | None = None, **kw: str) -> TestResult:
    return TestResult(run_id="r", nodeid=nodeid, outcome=outcome, attempt=n, message=message, **kw)  # type: ignore[arg-type]


def cases(path: Path) -> dict[str, ET.Element]:
    found = list(ET.parse(path).getroot().iter("testcase"))
    names = [c.get("name", "") for c in found]
    assert len(names) == len(set(names))  # one testcase per test
    return {c.get("name", ""): c for c in found}


def test_flaky_and_rerun_elements_go_into_their_testcases(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(PYTEST_XML)
    flaky = "tests/test_a.py::test_flaky[x-1]"
    broken = "tests/test_a.py::TestC::test_broken"
    attempts = {
        0: [
            attempt(
                flaky,
                "failed",
                1,
                "ValueError: first",
                failure_text="Traceback\nValueError: first",
                stdout="out 1",
                stderr="err 1",
            ),
            attempt(flaky, "error", 2, "RuntimeError: setup"),
            attempt(flaky, "passed", 3),
        ],
        1: [
            attempt(broken, "crashed", 1, "Crashed: worker w0 killed by signal 9"),
            attempt(broken, "failed", 2, "AssertionError: boom"),
        ],
        2: [attempt("tests/test_a.py::test_ok", "passed", 1)],
    }
    tests = junit.retried(attempts)
    assert [t.nodeid for t in tests] == [flaky, broken]
    assert junit.add_retries(path, tests) == []
    got = cases(path)
    assert len(got) == 3
    f = got["test_flaky[x-1]"]
    assert [c.tag for c in f] == ["properties", "flakyFailure", "flakyError", "system-out"]
    first = f.find("flakyFailure")
    assert first is not None
    assert first.get("message") == "ValueError: first" and first.get("type") == "ValueError"
    assert first.findtext("stackTrace") == "Traceback\nValueError: first"
    assert first.findtext("system-out") == "out 1" and first.findtext("system-err") == "err 1"
    assert f.find("flakyError").get("type") == "RuntimeError"  # type: ignore[union-attr]
    b = got["test_broken"]
    assert [c.tag for c in b] == ["failure", "rerunFailure"]  # the crash, a failure with its text
    rerun = b.find("rerunFailure")
    assert rerun is not None and rerun.get("type") == "crashed"
    assert rerun.findtext("stackTrace") == "Crashed: worker w0 killed by signal 9"
    assert list(got["test_ok"]) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml"]  # replaced atomically, nothing left


def test_prefix_and_text_xml_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(PYTEST_XML.replace('classname="tests.test_a"', 'classname="ci.tests.test_a"'))
    tests = junit.retried(
        [
            [
                attempt("tests/test_a.py::test_ok", "failed", 1, "bad \x1b[31mred\x00"),
                attempt("tests/test_a.py::test_ok", "passed", 2),
            ]
        ]
    )
    assert junit.add_retries(path, tests, prefix="ci") == []
    el = cases(path)["test_ok"].find("flakyFailure")
    assert el is not None and el.get("message") == "bad \ufffd[31mred\ufffd"


def test_a_test_with_no_testcase_is_reported_and_the_file_stays_valid(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(PYTEST_XML)
    tests = junit.retried(
        [[attempt("other.py::test_gone", "failed", 1), attempt("other.py::test_gone", "passed", 2)]]
    )
    assert junit.add_retries(path, tests) == ["other.py::test_gone"]
    assert len(cases(path)) == 3


def test_names_match_pytest() -> None:
    assert junit.default_names("tests/test_a.py::TestC::test_x[1-a]") == ("tests.test_a.TestC", "test_x[1-a]")
    assert junit.default_names("t.py::test", "pre") == ("pre.t", "test")
