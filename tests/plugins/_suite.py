"""Run one small suite under plain pytest and under ``testfleet run``, to compare what a
plugin produces in each (its numbers, files, seed, outcomes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# Plugins load only when a test names them (-p), as each acceptance test does: the
# plugins venv has all of them installed, and they would otherwise all load into every run.
BASE_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "120"}
SUMMARY = re.compile(r"^=* ?(\d+ \w+.*?) in [\d.]+s\b", re.M)


def need(module: str) -> None:
    """Skip the test, with the reason, where the plugin is not installed (the main CI venv)."""
    pytest.importorskip(
        module,
        reason=f"{module} is not installed: this acceptance test runs in the "
        f"plugins venv (pip install -e '.[plugins-matrix]')",
    )


@dataclass
class Result:
    code: int
    out: str

    @property
    def summary(self) -> str:
        """pytest's last line without its duration: ``2 passed, 2 warnings``."""
        found = SUMMARY.findall(self.out)
        assert found, self.out
        return str(found[-1])

    def expect_line(self, pattern: str) -> re.Match[str]:
        found = re.search(pattern, self.out, re.M)
        assert found, f"no line matching {pattern!r} in:\n{self.out}"
        return found


class Suite:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "pytest.ini").write_text("[pytest]\n")

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def _run(self, argv: list[str], env: dict[str, str] | None, timeout: float) -> Result:
        proc = subprocess.run(
            argv,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **BASE_ENV, **(env or {})},
            start_new_session=True,
        )
        return Result(proc.returncode, proc.stdout + proc.stderr)

    def plain(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        return self._run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], env, timeout)

    def fleet(
        self, *args: str, workers: int = 2, env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        return self._run(
            [
                sys.executable,
                "-m",
                "testfleet",
                "run",
                "-w",
                str(workers),
                "--db",
                "none",
                "-p",
                "no:cacheprovider",
                *args,
            ],
            env,
            timeout,
        )

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        return self._run(list(argv), env, timeout)
