"""``testfleet compare`` on two real runs stored in a real DuckDB file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SUITE = """
import os, time
CHANGED = os.path.exists(os.path.join(os.path.dirname(__file__), "changed.flag"))

def test_steady():
    pass

def test_breaks():
    assert not CHANGED, "broken by the change"

def test_repaired():
    assert CHANGED, "not repaired yet"

def test_gets_slower():
    time.sleep(0.6 if CHANGED else 0.01)
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testfleet", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def two_runs(fleet: Any) -> tuple[Any, Path, str, str]:
    fleet.write("test_mod.py", SUITE)
    fleet.write("test_old.py", "def test_dropped():\n    pass\n")
    db = fleet.root / "results.duckdb"
    first = fleet.run("-w", "2", "--db", str(db))
    assert first.code == 1  # test_repaired fails before the change
    (fleet.root / "changed.flag").write_text("")
    (fleet.root / "test_old.py").unlink()
    fleet.write("test_new.py", "def test_added():\n    pass\n")
    second = fleet.run("-w", "2", "--db", str(db))
    assert second.code == 1  # test_breaks fails after it
    return fleet, db, first.report["run_id"], second.report["run_id"]


def test_compare_defaults_to_the_last_two_runs_and_names_each_change(two_runs: Any) -> None:
    fleet, db, first, second = two_runs
    done = cli("compare", "--db", str(db), cwd=fleet.root)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"base {first}" in out and f"head {second}" in out
    assert "new failures (1):" in out
    assert "FAILED test_mod.py::test_breaks (was passed) - AssertionError: broken by the change" in out
    assert "fixed (1):\n  test_mod.py::test_repaired (failed -> passed)" in out
    assert "added (1):\n  test_new.py::test_added (passed)" in out
    assert "removed (1):\n  test_old.py::test_dropped (was passed)" in out
    assert "slower (1):\n  test_mod.py::test_gets_slower:" in out
    assert "test_steady" not in out


def test_compare_json_and_fail_on_gate(two_runs: Any) -> None:
    fleet, db, first, second = two_runs
    done = cli(
        "compare",
        first,
        second,
        "--db",
        str(db),
        "--format",
        "json",
        "--fail-on",
        "new-failures",
        cwd=fleet.root,
    )
    assert done.returncode == 1  # the gate: a new failure
    data = json.loads(done.stdout)
    assert (data["base"], data["head"]) == (first, second)
    assert [c["nodeid"] for c in data["new_failures"]] == ["test_mod.py::test_breaks"]
    assert [c["nodeid"] for c in data["slower"]] == ["test_mod.py::test_gets_slower"]
    assert data["slower"][0]["head_seconds"] >= 0.6
    assert data["head_counts"] == {"passed": 4, "failed": 1}
    # The other way round nothing got slower: that gate stays open.
    back = cli("compare", second, first, "--db", str(db), "--fail-on", "slower", cwd=fleet.root)
    assert back.returncode == 0
    assert "FAILED test_mod.py::test_repaired (was passed)" in back.stdout
    assert "faster (1):\n  test_mod.py::test_gets_slower: 0.6" in back.stdout
    assert "x faster)" in back.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "everything"], "--fail-on 'everything' is not a section"),
        (["--min-ratio", "0.5"], "--min-ratio must be at least 1.0"),
        (["nosuchrun"], "no run 'nosuchrun'"),
    ],
)
def test_compare_bad_input_is_one_line_and_exit_4(two_runs: Any, args: list[str], message: str) -> None:
    fleet, db, _first, _second = two_runs
    done = cli("compare", *args, "--db", str(db), cwd=fleet.root)
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and message in done.stderr


def test_compare_needs_two_runs(fleet: Any) -> None:
    fleet.write("test_a.py", "def test_ok():\n    pass\n")
    db = fleet.root / "results.duckdb"
    run = fleet.run("-w", "1", "--db", str(db))
    assert run.code == 0
    done = cli("compare", "--db", str(db), cwd=fleet.root)
    assert done.returncode == 4
    assert "has no earlier run to compare with" in done.stderr
    same = cli("compare", run.report["run_id"], run.report["run_id"], "--db", str(db), cwd=fleet.root)
    assert same.returncode == 4 and "the same run" in same.stderr
