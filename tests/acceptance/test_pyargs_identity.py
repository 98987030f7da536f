"""Under ``--pyargs`` a test's node id is the package's own layout, whatever directory (and so
rootdir) the run starts from, so history carries over and ``compare`` sees the same tests
(issue 19: ``tests/test_x.py`` vs ``flow/tests/test_x.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TESTS = """
import pytest

class TestFlow:
    @pytest.mark.parametrize("n", [1, 2])
    def test_p(self, n):
        assert n

def test_plain():
    pass
"""


def test_node_ids_do_not_depend_on_where_the_run_starts(fleet: Any, tmp_path: Path) -> None:
    src = fleet.root / "src"
    (src / "flow" / "tests").mkdir(parents=True)
    (src / "flow" / "__init__.py").write_text("")
    (src / "flow" / "tests" / "__init__.py").write_text("")
    (src / "flow" / "tests" / "test_x.py").write_text(TESTS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pytest.ini").write_text("[pytest]\n")
    db = tmp_path / "results.duckdb"
    env = {
        "PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(src)]),
        "TESTFLEET_DB": str(db),
    }
    first = fleet.run("-w", "2", "--pyargs", "flow.tests", env=env)
    assert first.code == 0, first.out + first.err
    expected = sorted(
        [
            "flow/tests/test_x.py::TestFlow::test_p[1]",
            "flow/tests/test_x.py::TestFlow::test_p[2]",
            "flow/tests/test_x.py::test_plain",
        ]
    )
    assert sorted(t["nodeid"] for t in first.report["tests"]) == expected
    second = subprocess.run(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--pyargs", "flow.tests"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert second.returncode == 0, second.stdout + second.stderr
    compare = subprocess.run(
        [sys.executable, "-m", "testfleet", "compare", "--db", str(db)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert compare.returncode == 0, compare.stderr
    assert "no changes: same tests" in compare.stdout, compare.stdout
    assert "added" not in compare.stdout and "removed" not in compare.stdout
