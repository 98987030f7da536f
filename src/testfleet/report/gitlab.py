"""GitLab CI: collapsible log sections for the run's phases, and JUnit files it accepts.

Sections: GitLab folds the job log between ``section_start`` and ``section_end`` lines
(``ESC[0Ksection_start:<unix time>:<name>[collapsed=true]\\rESC[0K<header>``). A fleet run
under GitLab (``GITLAB_CI`` set, ``--ci`` not ``none``) opens one per phase: collection, the
tests, and the summary.

JUnit limits: GitLab rejects a JUnit report over 30 MB or with more than 250,000 XML objects
(elements). :func:`split` cuts such a file into parts under both limits, whole testcases per
part: the first part keeps the file's name, the others are ``<stem>-2<suffix>``, ... so a
``reports: junit: <stem>*.xml`` glob picks them all up. Each part is a valid file: a
``<testsuites>`` with the suite's attributes, properties and its own counts.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from testfleet.report.junit import write_atomically

MAX_BYTES = 30 * 1000 * 1000
MAX_OBJECTS = 250_000
# Bytes kept free in each part for the XML declaration and the suite elements around the cases.
OVERHEAD = 4096
PHASES = {
    "collect": "testfleet: collecting",
    "tests": "testfleet: running tests",
    "summary": "testfleet: summary",
}


def active(env: Mapping[str, str], ci_choice: str = "auto") -> bool:
    return ci_choice != "none" and env.get("GITLAB_CI", "").lower() == "true"


def section_start(name: str, header: str, *, collapsed: bool = False, now: float | None = None) -> str:
    stamp = int(time.time() if now is None else now)
    options = "[collapsed=true]" if collapsed else ""
    return f"\x1b[0Ksection_start:{stamp}:testfleet_{name}{options}\r\x1b[0K{header}"


def section_end(name: str, *, now: float | None = None) -> str:
    stamp = int(time.time() if now is None else now)
    return f"\x1b[0Ksection_end:{stamp}:testfleet_{name}\r\x1b[0K"


class Sections:
    """Opens and closes one section per phase; ``write`` gets whole lines."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.open: str | None = None

    def enter(self, phase: str, *, collapsed: bool = False) -> None:
        self.close()
        self.write(section_start(phase, PHASES.get(phase, phase), collapsed=collapsed))
        self.open = phase

    def close(self) -> None:
        if self.open is not None:
            self.write(section_end(self.open))
            self.open = None


# ---------------------------------------------------------------------------- JUnit splitting
def count_objects(el: ET.Element) -> int:
    return sum(1 for _ in el.iter())


def _size(el: ET.Element) -> int:
    return len(ET.tostring(el, encoding="utf-8"))


def needs_split(
    path: str | os.PathLike[str], max_bytes: int = MAX_BYTES, max_objects: int = MAX_OBJECTS
) -> bool:
    if os.path.getsize(path) > max_bytes:
        return True
    return sum(1 for _ in ET.iterparse(path, events=("start",))) > max_objects


def part_path(path: Path, n: int) -> Path:
    return path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")


def _counts(cases: list[ET.Element]) -> dict[str, str]:
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    time_total = sum(float(c.get("time", "0") or 0) for c in cases)
    return {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": f"{time_total:.3f}",
    }


def _chunks(
    cases: list[ET.Element], max_bytes: int, max_objects: int, fixed_bytes: int, fixed_objects: int
) -> list[list[ET.Element]]:
    chunks: list[list[ET.Element]] = [[]]
    used_bytes, used_objects = fixed_bytes, fixed_objects
    for case in cases:
        b, o = _size(case), count_objects(case)
        if chunks[-1] and (used_bytes + b > max_bytes or used_objects + o > max_objects):
            chunks.append([])
            used_bytes, used_objects = fixed_bytes, fixed_objects
        chunks[-1].append(case)
        used_bytes += b
        used_objects += o
    return chunks


def split(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_objects: int = MAX_OBJECTS
) -> list[Path]:
    """Split the JUnit file at ``path`` into parts under the limits; the paths written.

    A file already under both limits is left alone (``[path]``). A single testcase over a
    limit on its own gets a part of its own (GitLab may still refuse that part).
    """
    target = Path(path)
    if not needs_split(target, max_bytes, max_objects):
        return [target]
    root = ET.parse(target).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    parts: list[ET.Element] = []
    for suite in suites:
        cases = suite.findall("testcase")
        shell = ET.Element("testsuite", dict(suite.attrib))
        for child in suite:
            if child.tag != "testcase":
                shell.append(child)
        fixed_bytes = OVERHEAD + _size(shell)
        fixed_objects = 1 + count_objects(shell)
        for chunk in _chunks(cases, max_bytes, max_objects, fixed_bytes, fixed_objects):
            part_suite = ET.Element("testsuite", {**suite.attrib, **_counts(chunk)})
            part_suite.extend(c for c in shell)
            part_suite.extend(chunk)
            wrapper = ET.Element("testsuites", dict(root.attrib) if root.tag == "testsuites" else {})
            wrapper.append(part_suite)
            parts.append(wrapper)
    written = []
    for n, part in enumerate(parts, start=1):
        out = part_path(target, n)
        write_atomically(part, out)
        written.append(out)
    return written


def limits_from(env: Mapping[str, str]) -> dict[str, Any]:
    """``TESTFLEET_JUNIT_MAX_BYTES`` / ``TESTFLEET_JUNIT_MAX_OBJECTS`` override GitLab's limits
    (lower ones, e.g. for a self-managed instance with other settings)."""
    out: dict[str, Any] = {}
    for key, name in (
        ("max_bytes", "TESTFLEET_JUNIT_MAX_BYTES"),
        ("max_objects", "TESTFLEET_JUNIT_MAX_OBJECTS"),
    ):
        value = env.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            out[key] = int(value)
    return out
