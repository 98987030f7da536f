from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@dataclass
class Run:
    code: int
    out: str
    err: str
    report: dict[str, Any] | None

    def outcome(self, nodeid_suffix: str) -> dict[str, Any]:
        assert self.report is not None, self.out + self.err
        matches = [t for t in self.report["tests"] if t["nodeid"].endswith(nodeid_suffix)]
        assert len(matches) == 1, (nodeid_suffix, [t["nodeid"] for t in self.report["tests"]])
        return matches[0]


def run_testfleet(
    args: list[str],
    cwd: Path,
    *,
    timeout: float = 120,
    report: bool = True,
    env: dict[str, str] | None = None,
) -> Run:
    """``python -m testfleet run ...`` in a subprocess, with a JSON report read back."""
    with tempfile.TemporaryDirectory(prefix="testfleet-report-") as tmp:
        # Outside cwd: the suites under examples/ must not collect leftovers.
        report_path = Path(tmp) / "report.json"
        full = [sys.executable, "-m", "testfleet", "run", *args]
        if report:
            full += ["--report-json", str(report_path)]
        proc = subprocess.run(
            full,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
            start_new_session=True,
        )
        data = json.loads(report_path.read_text()) if report and report_path.exists() else None
    return Run(proc.returncode, proc.stdout, proc.stderr, data)


# A test that kills the collector (its workers' parent) and one that kills its own worker, and
# two tests left for after them (test_exactly_once.py, test_collectors.py).
KILLS_COLLECTOR = (
    "import os, signal\n"
    "def test_attack_parent(): os.kill(os.getppid(), signal.SIGKILL)\n"
    "def test_die(): os._exit(1)\n"
    "def test_left_1(): pass\n"
    "def test_left_2(): pass\n"
)


def assert_left_without_collector(run: Run, killed: str) -> None:
    """The run of KILLS_COLLECTOR (``--order collection``): the attack passed, the test that
    died crashed, and the tests left end ``not_run`` saying that ``killed`` ("collector
    process", "collector 0's process") was killed."""
    assert run.report is not None, run.out[-3000:] + run.err[-3000:]
    assert run.outcome("test_attack_parent")["outcome"] == "passed"
    assert run.outcome("test_die")["outcome"] == "crashed"
    for name in ("test_left_1", "test_left_2"):
        left = run.outcome(name)
        assert left["outcome"] == "not_run", left
        assert f"{killed} was killed by signal 9" in left["message"], left
