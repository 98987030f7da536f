"""Runs of part of the suite (-k, -m, node ids) are stored as partial and left out of history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def runs_json(db: Path, cwd: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "testfleet", "runs", "--db", str(db), "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return list(reversed(json.loads(done.stdout)["runs"]))  # oldest first


def test_k_m_and_node_id_runs_are_partial_and_a_whole_run_is_not(fleet: Any) -> None:
    fleet.write(
        "test_a.py", "import pytest\n\n@pytest.mark.fast\ndef test_one(): pass\n\ndef test_two(): pass\n"
    )
    db = fleet.root / "store.duckdb"
    for args in ([], ["-k", "one"], ["-m", "fast"], ["test_a.py::test_two"]):
        assert fleet.run("-w", "1", "--db", str(db), *args).code == 0
    runs = runs_json(db, fleet.root)
    assert [r["partial"] for r in runs] == [False, True, True, True]
    trends = subprocess.run(
        [sys.executable, "-m", "testfleet", "trends", "--db", str(db), "--format", "json"],
        cwd=fleet.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [r["run_id"] for r in json.loads(trends.stdout)["runs"]] == [runs[0]["run_id"]]


def test_a_marker_expression_in_addopts_is_the_whole_suite(fleet: Any) -> None:
    (fleet.root / "pytest.ini").write_text('[pytest]\naddopts = -m "not slow"\nmarkers =\n    slow: slow\n')
    fleet.write(
        "test_b.py", "import pytest\n\n@pytest.mark.slow\ndef test_slow(): pass\n\ndef test_quick(): pass\n"
    )
    db = fleet.root / "store.duckdb"
    assert fleet.run("-w", "1", "--db", str(db)).code == 0
    assert fleet.run("-w", "1", "--db", str(db), "-k", "quick").code == 0
    assert [r["partial"] for r in runs_json(db, fleet.root)] == [False, True]
