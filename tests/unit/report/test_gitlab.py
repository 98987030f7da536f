"""GitLab: section lines, and JUnit files split under (injected, small) limits."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from testfleet.report import gitlab


def write_suite(path: Path, n: int) -> None:
    cases = "".join(
        f'<testcase classname="t" name="test_{i}" time="0.5">'
        + ('<failure message="m">text</failure>' if i % 7 == 0 else "")
        + ('<skipped message="s"/>' if i % 11 == 0 else "")
        + "</testcase>"
        for i in range(n)
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name="pytest" errors="0" failures="x" skipped="x" tests="{n}" time="9">'
        f'<properties><property name="p" value="1"/></properties>{cases}</testsuite></testsuites>'
    )


def test_section_lines() -> None:
    assert gitlab.section_start("tests", "testfleet: running tests", collapsed=True, now=1700000000) == (
        "\x1b[0Ksection_start:1700000000:testfleet_tests[collapsed=true]\r\x1b[0Ktestfleet: running tests"
    )
    assert (
        gitlab.section_end("tests", now=1700000001)
        == "\x1b[0Ksection_end:1700000001:testfleet_tests\r\x1b[0K"
    )
    lines: list[str] = []
    s = gitlab.Sections(lines.append)
    s.enter("collect")
    s.enter("tests")
    s.close()
    s.close()
    assert [ln.split(":")[0][4:] for ln in lines] == [
        "section_start",
        "section_end",
        "section_start",
        "section_end",
    ]
    assert gitlab.active({"GITLAB_CI": "true"}) and not gitlab.active({"GITLAB_CI": "true"}, "none")
    assert not gitlab.active({})


def test_split_by_object_count(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_suite(path, 100)
    parts = gitlab.split(path, max_objects=60)
    assert parts[0] == path and parts[1] == tmp_path / "junit-2.xml"
    names: list[str] = []
    failures = 0
    for part in parts:
        root = ET.parse(part).getroot()
        assert root.tag == "testsuites"
        assert sum(1 for _ in root.iter()) <= 60
        suite = root.find("testsuite")
        assert suite is not None and suite.find("properties") is not None
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
        assert suite.get("skipped") == str(sum(1 for c in cases if c.find("skipped") is not None))
        failures += int(suite.get("failures", "0"))
        names += [c.get("name", "") for c in cases]
    assert names == [f"test_{i}" for i in range(100)]  # every testcase once, in order
    assert failures == 15


def test_split_by_size(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_suite(path, 200)
    size = path.stat().st_size
    parts = gitlab.split(path, max_bytes=size // 3 + 4096)
    assert len(parts) >= 3
    assert all(p.stat().st_size <= size // 3 + 4096 for p in parts)
    assert sum(len(ET.parse(p).getroot().findall("testsuite/testcase")) for p in parts) == 200


def test_a_file_under_the_limits_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_suite(path, 10)
    before = path.read_bytes()
    assert gitlab.split(path) == [path]
    assert path.read_bytes() == before
    assert gitlab.limits_from({"TESTFLEET_JUNIT_MAX_OBJECTS": "50", "TESTFLEET_JUNIT_MAX_BYTES": "x"}) == {
        "max_objects": 50
    }
