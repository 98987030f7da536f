from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _fleet import Run, run_testfleet


@pytest.fixture
def fleet(tmp_path: Path) -> Any:
    """Write test files into a fresh directory and run testfleet on them."""

    class Fleet:
        root = tmp_path

        def write(self, name: str, text: str) -> Path:
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return path

        def run(self, *args: str, **kw: Any) -> Run:
            return run_testfleet(list(args), tmp_path, **kw)

    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return Fleet()
