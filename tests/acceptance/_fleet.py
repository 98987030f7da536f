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
