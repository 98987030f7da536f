from __future__ import annotations

from pathlib import Path

import pytest
from _suite import Suite


@pytest.fixture
def suite(tmp_path: Path) -> Suite:
    """A fresh directory for a small suite, run under plain pytest and under testfleet."""
    return Suite(tmp_path / "suite")
