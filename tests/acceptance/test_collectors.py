"""Parallel collection (--collectors K) end to end: the same run as with one collector (tests,
outcomes, JUnit, summary, deselection, collection errors), every test run once by a worker of
the collector that collected it, a collector killed by a test, and bad values."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _fleet import KILLS_COLLECTOR, assert_left_without_collector

from testfleet.split import split

SUITE = {
    "test_alpha.py": (
        "import pytest\n"
        "@pytest.mark.parametrize('n', range(6))\n"
        "def test_param(n): assert n != 4\n"
        "def test_skip(): pytest.skip('not here')\n"
    ),
    "test_beta.py": (
        "import pytest\n"
        "@pytest.fixture(scope='module')\n"
        "def shared(): return [1]\n"
        "def test_one(shared): assert shared == [1]\n"
        "def test_two(shared): assert shared == [2]\n"
        "@pytest.mark.xfail(strict=True)\n"
        "def test_xfail(): assert False\n"
    ),
    "test_gamma.py": (
        "import pytest\n"
        "class TestKind:\n"
        "    def test_a(self): pass\n"
        "    def test_b(self): pass\n"
        "@pytest.fixture\n"
        "def broken(): raise RuntimeError('fixture broke')\n"
        "def test_error(broken): pass\n"
    ),
    "pkg/test_delta.py": "".join(f"def test_d{i}(): pass\n" for i in range(10)),
    "pkg/test_epsilon.py": "def test_e(): pass\n# padding\n" + "#" * 400 + "\n",
}


def write_suite(fleet: Any) -> None:
    for name, text in SUITE.items():
        fleet.write(name, text)


def junit_cases(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out.append((case.get("classname", ""), case.get("name", ""), ",".join(kinds)))
    return sorted(out)


def summary(out: str) -> tuple[str, list[str]]:
    """pytest's last line without its time, and the short test summary's lines (sorted:
    they come in the order tests finished)."""
    lines = out.splitlines()
    last = re.sub(r" in [0-9.]+s.*", "", lines[-1]).strip("= ")
    short: list[str] = []
    if any("short test summary info" in ln for ln in lines):
        start = next(i for i, ln in enumerate(lines) if "short test summary info" in ln)
        short = sorted(ln for ln in lines[start + 1 : -1] if not ln.startswith("="))
    return last, short


def outcomes(run: Any) -> list[tuple[str, str]]:
    assert run.report is not None, run.out[-3000:] + run.err[-3000:]
    return sorted((t["nodeid"], t["outcome"]) for t in run.report["tests"])


@pytest.mark.parametrize(("workers", "collectors"), [("2", "2"), ("3", "3")])
def test_several_collectors_run_what_one_collector_runs(fleet: Any, workers: str, collectors: str) -> None:
    write_suite(fleet)
    runs = {}
    for k in ("1", collectors):
        runs[k] = fleet.run("-w", workers, "--collectors", k, "--db", "none", "--junitxml", f"junit{k}.xml")
    one, many = runs["1"], runs[collectors]
    assert one.report is not None and many.report is not None
    assert many.report["collectors"] == int(collectors)
    assert "by " + collectors + " collectors" in many.out
    assert outcomes(many) == outcomes(one)
    assert len(outcomes(one)) == 24
    assert many.report["counts"] == one.report["counts"]
    # The merged collection is one collector's, in its order.
    assert many.report["collection_hash"] == one.report["collection_hash"]
    assert many.code == one.code == 1
    assert junit_cases(fleet.root / f"junit{collectors}.xml") == junit_cases(fleet.root / "junit1.xml")
    assert summary(many.out) == summary(one.out)
    assert summary(one.out)[0] == "2 failed, 19 passed, 1 skipped, 1 xfailed, 1 error"


def test_deselection_is_the_same_with_several_collectors(fleet: Any) -> None:
    write_suite(fleet)
    one = fleet.run("-w", "2", "--db", "none", "-k", "not param and not d3")
    many = fleet.run("-w", "2", "--collectors", "2", "--db", "none", "-k", "not param and not d3")
    assert outcomes(many) == outcomes(one)
    assert len(outcomes(one)) == 24 - 6 - 1
    assert many.report is not None and one.report is not None
    assert many.report["collection_hash"] == one.report["collection_hash"]
    assert "7 deselected" in one.out.splitlines()[-1]
    assert summary(many.out) == summary(one.out)


def test_a_collection_error_in_one_group_is_reported_as_with_one_collector(fleet: Any) -> None:
    write_suite(fleet)
    fleet.write("pkg/test_broken.py", "import nonexistent_module_xyz\ndef test_never(): pass\n")
    one = fleet.run("-w", "2", "--db", "none")
    many = fleet.run("-w", "2", "--collectors", "2", "--db", "none")
    assert many.code == one.code == 2
    for run in (one, many):
        assert "ERROR collecting pkg/test_broken.py" in run.out, run.out[-3000:]
        assert "No module named 'nonexistent_module_xyz'" in run.out
        assert "Interrupted: 1 error during collection" in run.out
    assert summary(many.out) == summary(one.out)
    # Going on despite it: the other tests run, as with one collector.
    one = fleet.run("-w", "2", "--db", "none", "--continue-on-collection-errors")
    many = fleet.run("-w", "2", "--collectors", "2", "--db", "none", "--continue-on-collection-errors")
    assert outcomes(many) == outcomes(one)
    assert many.code == one.code == 1
    assert summary(many.out) == summary(one.out)


# Collectors started as `python -m testfleet.worker.collector`, each with its spec in its
# environment from the start (not forked by `testfleet run`, see executor/forked.py).
SPAWNED = {"TESTFLEET_COLLECTOR_START": "exec"}

EXEC_LOG = """
import json, os, pytest

@pytest.fixture(autouse=True)
def _log(request):
    ppid = os.getppid()
    with open(f"/proc/{ppid}/environ", "rb") as fh:
        env = dict(e.split(b"=", 1) for e in fh.read().split(b"\\0") if b"=" in e)
    spec = json.loads(env[b"TESTFLEET_SPEC"])
    line = json.dumps({
        "nodeid": request.node.nodeid,
        "pid": os.getpid(),
        "ppid": ppid,
        "parent_role": spec["role"],
        "parent_collector": spec.get("collector"),
        "group": os.environ.get("TESTFLEET_COLLECTOR"),
    })
    fd = os.open(os.path.join(os.path.dirname(__file__), "exec.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)
    yield
"""


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a process's environment in /proc")
def test_every_test_runs_once_on_a_worker_of_the_collector_that_collected_it(fleet: Any) -> None:
    files = {
        f"test_f{i}.py": "".join(f"def test_{i}_{j}(): pass\n" for j in range(3 + 5 * i)) for i in range(5)
    }
    for name, text in files.items():
        fleet.write(name, text)
    fleet.write("conftest.py", EXEC_LOG)
    # EXEC_LOG reads the collector's spec in its exec-time environment (/proc/<pid>/environ):
    # a collector forked by `testfleet run` has the controller's there.
    run = fleet.run("-w", "5", "--collectors", "2", "--db", "none", env=SPAWNED)
    assert run.code == 0, run.out[-3000:]
    lines = [json.loads(ln) for ln in (fleet.root / "exec.log").read_text().splitlines()]
    counts = Counter(ln["nodeid"] for ln in lines)
    assert len(counts) == sum(3 + 5 * i for i in range(5))
    assert set(counts.values()) == {1}, [n for n, c in counts.items() if c != 1]
    # pytest visits the files of one directory in name order; each goes to the collector
    # with the fewest bytes so far.
    names = sorted(files)
    owner = dict(zip(names, split([(fleet.root / n).stat().st_size for n in names], 2), strict=True))
    parents: dict[int, set[int]] = {0: set(), 1: set()}
    for ln in lines:
        assert ln["parent_role"] == "collector", ln
        expected = owner[ln["nodeid"].split("::")[0]]
        assert ln["parent_collector"] == expected, ln
        assert ln["group"] == str(expected), ln
        parents[expected].add(ln["ppid"])
    assert len(parents[0]) == len(parents[1]) == 1 and parents[0] != parents[1], parents
    # -w 5 over 2 collectors: 3 workers forked by one, 2 by the other.
    assert run.report is not None
    pids = {w["pid"] for w in run.report["workers"]}
    assert len(pids) == 5


def test_a_test_that_kills_its_collector_ends_only_its_groups_tests(fleet: Any) -> None:
    # Two files of one collector each: the first visited goes to collector 0.
    fleet.write("test_a_attack.py", KILLS_COLLECTOR)
    fleet.write(
        "test_b_other.py",
        "import time, pytest\n@pytest.mark.parametrize('n', range(20))\ndef test_other(n): time.sleep(0.05)\n",
    )
    run = fleet.run(
        "-w",
        "2",
        "--collectors",
        "2",
        "--db",
        "none",
        "--order",
        "collection",
        timeout=float(os.environ.get("ATTACK_TIMEOUT", "90")),
    )
    assert_left_without_collector(run, "collector 0's process")
    others = [t for t in run.report["tests"] if "test_b_other.py" in t["nodeid"]]
    assert len(others) == 20 and {t["outcome"] for t in others} == {"passed"}, others
    assert run.code in (1, 2)


def run_cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testfleet", "run", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--collectors", "0"], {}, "--collectors: '0' is not a positive whole number or 'auto'"),
        (["--collectors", "x"], {}, "--collectors: 'x' is not a positive whole number or 'auto'"),
        ([], {"TESTFLEET_COLLECTORS": "-1"}, "TESTFLEET_COLLECTORS: '-1' is not a positive whole number"),
        (
            ["--collectors", "2", "--start", "spawn"],
            {},
            "--collectors: more than one collector needs the local backend with fork start, not --start spawn",
        ),
    ],
)
def test_bad_collectors_values_are_one_line_usage_errors(
    fleet: Any, args: list[str], env: dict[str, str], message: str
) -> None:
    fleet.write("test_a.py", "def test_a(): pass\n")
    proc = run_cli(fleet.root, "-w", "2", *args, env=env)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("testfleet: error: ")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_auto_with_spawn_start_is_one_collector(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_a(): pass\ndef test_b(): pass\n")
    run = fleet.run("-w", "2", "--collectors", "auto", "--start", "spawn", "--db", "none")
    assert run.code == 0, run.out[-2000:]
    assert run.report is not None and run.report["collectors"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["test_beta.py"],
        ["test_beta.py", "pkg/test_delta.py"],
        ["test_gamma.py::TestKind::test_b", "pkg"],
        ["pkg/test_epsilon.py::test_e"],
    ],
)
def test_files_and_node_ids_named_on_the_command_line(fleet: Any, args: list[str]) -> None:
    """pytest reports a named path that yields nothing as "not found" (a usage error): a
    collector that does not own a named file collects it too and drops its items."""
    write_suite(fleet)
    one = fleet.run("-w", "2", "--db", "none", *args)
    many = fleet.run("-w", "2", "--collectors", "2", "--db", "none", *args)
    assert many.code == one.code, many.out[-2000:] + many.err[-2000:]
    assert outcomes(many) == outcomes(one)
    assert outcomes(one)
    assert summary(many.out) == summary(one.out)


DISAGREE = """
import json

def _collector_index():
    with open("/proc/self/environ", "rb") as fh:
        env = dict(e.split(b"=", 1) for e in fh.read().split(b"\\0") if b"=" in e)
    return json.loads(env.get(b"TESTFLEET_SPEC", b"{}")).get("collector")

def pytest_ignore_collect(collection_path, config):
    # Collector 1 does not see test_b.py: the two would split the files differently.
    return True if collection_path.name == "test_b.py" and _collector_index() == 1 else None
"""


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a process's environment in /proc")
def test_collectors_that_split_the_files_differently_stop_the_run(fleet: Any) -> None:
    for name in ("test_a.py", "test_b.py", "test_c.py"):
        fleet.write(name, "def test_x(): pass\n")
    fleet.write("conftest.py", DISAGREE)
    run = fleet.run("-w", "2", "--collectors", "2", "--db", "none", env=SPAWNED)  # as EXEC_LOG
    assert run.code == 3, run.out[-2000:] + run.err[-2000:]
    assert "the collectors split the files differently" in run.out + run.err
    assert not (run.report or {}).get("tests"), run.report
    assert fleet.run("-w", "2", "--db", "none").code == 0  # one collector: nothing to disagree on


def test_with_a_store_the_next_run_splits_the_files_by_their_test_time(fleet: Any) -> None:
    # By bytes the big fast file goes to one collector and both slow files to the other;
    # by the first run's times the slow files go to different collectors.
    fleet.write("test_a_big.py", "def test_fast(): pass\n" + "# padding\n" * 500)
    fleet.write("test_b_slow.py", "import time\ndef test_slow(): time.sleep(0.3)\n")
    fleet.write("test_c_slow.py", "import time\ndef test_slow(): time.sleep(0.3)\n")

    def workers_of_slow_files(run: Any) -> set[str]:
        assert run.report is not None and run.code == 0, run.out[-2000:] + run.err[-2000:]
        return {t["worker"] for t in run.report["tests"] if "slow" in t["nodeid"]}

    first = fleet.run("-w", "2", "--collectors", "2", "--db", "results.duckdb")
    assert workers_of_slow_files(first) == {"w1"}  # slot 1: the second collector's worker
    times = json.loads((fleet.root / "results.duckdb.files.json").read_text())["files"]
    assert set(times) == {"test_a_big.py", "test_b_slow.py", "test_c_slow.py"}
    assert times["test_b_slow.py"] >= 0.3 > times["test_a_big.py"]
    second = fleet.run("-w", "2", "--collectors", "2", "--db", "results.duckdb")
    assert workers_of_slow_files(second) == {"w0", "w1"}
    # A partial run (-k) leaves the times as they were; --db none writes none.
    before = (fleet.root / "results.duckdb.files.json").read_text()
    partial = fleet.run("-w", "2", "--collectors", "2", "--db", "results.duckdb", "-k", "test_fast")
    assert partial.code == 0 and partial.report is not None and len(partial.report["tests"]) == 1
    assert (fleet.root / "results.duckdb.files.json").read_text() == before
    fleet.run("-w", "2", "--collectors", "2", "--db", "none")
    assert not (fleet.root / ".testfleet").exists()
