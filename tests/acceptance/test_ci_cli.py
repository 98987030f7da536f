"""CI integration end to end: flaky and rerun elements in --junitxml, the GitHub job summary
and PR comment, GitLab sections and JUnit splitting, and --shard I/K by durations."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.acceptance._fleet import run_testfleet

FLAKY_SUITE = """\
import os, sys
from pathlib import Path

def test_flaky():
    marker = Path(os.environ["FLAKY_MARK"])
    if not marker.exists():
        marker.write_text("failed once")
        print("output of the failed attempt")
        print("stderr of the failed attempt", file=sys.stderr)
        raise ValueError("first attempt fails")

def test_broken():
    assert 1 == 2, "never equal"

def test_ok():
    pass
"""


def cli(fleet: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    import os
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "testfleet", *args],
        cwd=fleet.root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def junit_cases(path: Path) -> dict[str, ET.Element]:
    found = list(ET.parse(path).getroot().iter("testcase"))
    names = [c.get("name", "") for c in found]
    assert len(names) == len(set(names)), names  # one testcase per test
    return {c.get("name", ""): c for c in found}


def test_retried_tests_in_junit_and_the_github_job_summary(fleet: Any) -> None:
    fleet.write("tests/test_ci.py", FLAKY_SUITE)
    summary = fleet.root / "step_summary.md"
    summary.write_text("# Earlier step output\n")
    env = {
        "FLAKY_MARK": str(fleet.root / "mark"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    run = fleet.run("-w", "2", "--retries", "2", "--db", "results.duckdb", "--junitxml", "junit.xml", env=env)
    assert run.code == 1, run.out + run.err
    assert run.outcome("test_flaky")["flaky"] is True
    cases = junit_cases(fleet.root / "junit.xml")
    assert sorted(cases) == ["test_broken", "test_flaky", "test_ok"]
    flaky = cases["test_flaky"]
    assert flaky.find("failure") is None and flaky.find("rerunFailure") is None
    [attempt] = flaky.findall("flakyFailure")
    assert attempt.get("type") == "ValueError" and "first attempt fails" in (attempt.get("message") or "")
    assert "raise ValueError" in (attempt.findtext("stackTrace") or "")
    assert attempt.findtext("system-out") == "output of the failed attempt\n"
    assert attempt.findtext("system-err") == "stderr of the failed attempt\n"
    broken = cases["test_broken"]
    assert broken.find("failure") is not None and broken.find("flakyFailure") is None
    reruns = broken.findall("rerunFailure")
    assert len(reruns) == 2 and all(r.get("type") == "AssertionError" for r in reruns)
    assert list(cases["test_ok"]) == []
    # The job summary: appended after the earlier step's text, naming the failing and the flaky test.
    text = summary.read_text()
    assert text.startswith("# Earlier step output\n")
    assert "## ❌ testfleet: 2 passed, 1 failed, 1 flaky" in text
    assert "`tests/test_ci.py::test_broken`" in text and "AssertionError: never equal" in text
    assert "| `tests/test_ci.py::test_flaky` | 2 | failed: ValueError: first attempt fails |" in text
    # The PR comment: the same from the store.
    comment = cli(fleet, "summary", "--format", "md", "--db", "results.duckdb")
    assert comment.returncode == 0, comment.stderr
    assert "## ❌ testfleet: 2 passed, 1 failed, 1 flaky" in comment.stdout
    assert "`tests/test_ci.py::test_broken`" in comment.stdout and "test_flaky" in comment.stdout
    bad = cli(fleet, "summary", "--format", "html", "--db", "results.duckdb")
    assert bad.returncode == 4 and bad.stderr == "testfleet: error: --format: 'html' is not one of md\n"


def test_job_summary_is_cut_to_one_mib_with_a_note(fleet: Any) -> None:
    fleet.write(
        "test_big.py",
        "import pytest\n\n@pytest.mark.parametrize('i', range(60))\n"
        "def test_big(i):\n    assert False, 'x' * 30000\n\ndef test_fine():\n    pass\n",
    )
    summary = fleet.root / "summary.md"
    run = fleet.run(
        "-w",
        "2",
        "--db",
        "results.duckdb",
        "--tb",
        "short",
        env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"},
    )
    assert run.code == 1
    text = summary.read_text()
    assert 900 * 1024 < len(text.encode()) <= 1024 * 1024
    assert "`test_big.py::test_big[0]`" in text
    assert "the summary is limited to 1 MiB" in text
    annotations = [ln for ln in run.out.splitlines() if ln.startswith("::error ")]
    assert len(annotations) == 10
    assert "testfleet: 50 more failures not annotated" in run.out
    comment = cli(fleet, "summary", "--db", "results.duckdb")
    assert comment.returncode == 0
    assert (
        len(comment.stdout.encode()) <= 64 * 1000 + 1 and "the summary is limited to 64 KB" in comment.stdout
    )


def test_gitlab_sections_and_split_junit(fleet: Any) -> None:
    fleet.write(
        "test_many.py",
        "import pytest\n\n@pytest.mark.parametrize('i', range(40))\n"
        "def test_many(i):\n    assert i % 10, 'tenth'\n",
    )
    run = fleet.run(
        "-w",
        "2",
        "--db",
        "none",
        "--junitxml",
        "report.xml",
        env={"GITLAB_CI": "true", "TESTFLEET_JUNIT_MAX_OBJECTS": "30"},
    )
    assert run.code == 1
    starts = [ln.split(":")[2].split("[")[0] for ln in run.out.splitlines() if "section_start:" in ln]
    ends = [ln.split(":")[2].split("\r")[0] for ln in run.out.splitlines() if "section_end:" in ln]
    assert starts == ["testfleet_collect", "testfleet_tests", "testfleet_summary"]
    assert ends == starts
    parts = sorted(fleet.root.glob("report*.xml"))
    assert len(parts) >= 2 and "split into" in run.out
    names: list[str] = []
    for part in parts:
        root = ET.parse(part).getroot()
        assert sum(1 for _ in root.iter()) <= 30
        names += [c.get("name", "") for c in root.iter("testcase")]
    assert sorted(names) == sorted(f"test_many[{i}]" for i in range(40))


# A skewed suite: a few long tests, many short ones, and a module-scoped fixture module.
SECONDS = [0.4] * 2 + [0.2] * 4 + [0.1] * 8 + [0.05] * 16 + [0.02] * 20


def write_skewed(fleet: Any) -> None:
    fleet.write(
        "test_skew.py",
        f"import time, pytest\nS = {SECONDS!r}\n\n"
        "@pytest.mark.parametrize('i', range(len(S)))\n"
        "def test_t(i):\n    time.sleep(S[i])\n",
    )
    fleet.write(
        "test_scoped.py",
        "import time, pytest\n\n@pytest.fixture(scope='module')\ndef res():\n"
        "    return object()\n\n@pytest.mark.parametrize('i', range(4))\n"
        "def test_s(res, i):\n    time.sleep(0.05)\n",
    )


def test_four_shards_are_disjoint_complete_and_balanced(fleet: Any) -> None:
    write_skewed(fleet)
    full = fleet.run("-w", "4", "--db", "results.duckdb")
    assert full.code == 0, full.out
    export = cli(fleet, "durations", "export", "durations.json", "--db", "results.duckdb")
    assert export.returncode == 0, export.stderr
    assert "wrote the durations of 54 tests" in export.stdout
    durations = json.loads((fleet.root / "durations.json").read_text())["durations"]
    assert durations["test_skew.py::test_t[0]"] >= 0.4

    def shard(i: int) -> Any:
        # Each "CI job" has its own (empty) store: only the durations file is shared.
        return run_testfleet(
            ["-w", "1", "--shard", f"{i}/4", "--durations-file", "durations.json", "--db", f"job{i}.duckdb"],
            fleet.root,
        )

    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(shard, range(1, 5)))
    selected: list[set[str]] = []
    loads = []
    for run in runs:
        assert run.code == 0, run.out + run.err
        assert run.report is not None
        tests = run.report["tests"]
        selected.append({t["nodeid"] for t in tests})
        loads.append(sum(t["duration"] for t in tests))
        assert f"{len(tests)} passed, {54 - len(tests)} deselected" in run.out
    everything = set().union(*selected)
    assert len(everything) == 54 == sum(len(s) for s in selected)  # disjoint and complete
    scoped = {n for n in everything if n.startswith("test_scoped.py")}
    assert any(scoped <= s for s in selected)  # the module-scoped fixture's tests in one job
    mean = sum(loads) / 4
    assert max(loads) <= 1.10 * mean, loads
    # The shard run is marked partial: the summary says so.
    summary = cli(fleet, "summary", "--db", "job1.duckdb")
    assert "(shard 1/4: part of the suite)" in summary.stdout


def test_bad_shard_and_durations_file_are_usage_errors(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_a():\n    pass\n")
    bad = fleet.run("--shard", "5/4", "--db", "none", report=False)
    assert bad.code == 4 and "--shard: '5/4' is not I/K with 1 <= I <= K" in bad.out + bad.err
    assert "Traceback" not in bad.out + bad.err
    missing = fleet.run("--shard", "1/2", "--durations-file", "nope.json", "--db", "none", report=False)
    assert (
        missing.code == 4
        and "--durations-file:" in missing.out + missing.err
        and "does not exist" in (missing.out + missing.err)
    )
    empty = cli(fleet, "durations", "export", "d.json", "--db", "none")
    assert empty.returncode == 4 and empty.stderr.startswith("testfleet: error: --db none keeps no results")


def test_summary_compares_with_the_last_complete_run_on_the_base_branch(fleet: Any) -> None:
    import subprocess

    fleet.write("test_b.py", "def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "suite"]):
        subprocess.run([*git, *cmd], cwd=fleet.root, check=True, capture_output=True)
    base = fleet.run("-w", "2", "--db", "results.duckdb")
    assert base.code == 0 and base.report is not None
    # A later shard run on main is partial: never the base of a comparison.
    shard = fleet.run("-w", "1", "--db", "results.duckdb", "--shard", "1/2")
    assert shard.code == 0
    fleet.write("test_b.py", "def test_a():\n    assert 0, 'broken now'\n\ndef test_b():\n    pass\n")
    summary = fleet.root / "summary.md"
    head = fleet.run(
        "-w",
        "2",
        "--db",
        "results.duckdb",
        env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_BASE_REF": "main"},
    )
    assert head.code == 1
    text = summary.read_text()
    assert "### New failures (1)" in text and "`test_b.py::test_a` (was passed)" in text
    assert f"Base run `{base.report['run_id']}` on main" in text and "1 newly failing" in text
    comment = cli(fleet, "summary", "--db", "results.duckdb", "--base-branch", "main")
    assert f"Base run `{base.report['run_id']}` on main" in comment.stdout
    explicit = cli(fleet, "summary", "--db", "results.duckdb", "--base", "nope")
    assert explicit.returncode == 4 and "no run 'nope'" in explicit.stderr


def test_plain_pytest_takes_the_shard_option_too(fleet: Any) -> None:
    import os
    import subprocess

    fleet.write(
        "test_p.py", "import pytest\n\n@pytest.mark.parametrize('i', range(9))\ndef test_p(i):\n    pass\n"
    )
    chosen = []
    for i in (1, 2):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "testfleet.plugin",
                "-p",
                "no:cacheprovider",
                "--fleet-shard",
                f"{i}/2",
                "--co",
                "-q",
            ],
            cwd=fleet.root,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        chosen.append({ln for ln in proc.stdout.splitlines() if ln.startswith("test_p.py::")})
    assert [len(c) for c in chosen] == [5, 4] and not chosen[0] & chosen[1]
