"""A mutant's time limit: TIMEOUT_FACTOR x its baseline (pytest start-up plus its tests' measured
durations), as mutmut does; past it the mutant is counted "timeout", a kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from testfleet.audit.measure import RunData
from testfleet.audit.mutate import TIMEOUT_FACTOR, Mutant, budget


def _data() -> RunData:
    data = RunData(workdir=Path("w"), source=["src"], cwd=Path("."), command_prefix=[])
    data.durations = {"t.py::fast": 0.25, "t.py::slow": 2.0, "t.py::other": 7.0}
    return data


def test_budget_is_the_factor_times_start_up_plus_the_mutants_own_tests() -> None:
    m = Mutant("src/a.py", "f", 1, "default-return", "", tests=["t.py::fast", "t.py::slow"])
    assert TIMEOUT_FACTOR == 10.0
    assert budget(m, _data(), startup=1.5) == pytest.approx(10.0 * (1.5 + 0.25 + 2.0))


def test_a_test_without_a_measured_duration_adds_nothing_but_start_up_still_counts() -> None:
    m = Mutant("src/a.py", "f", 1, "default-return", "", tests=["t.py::unmeasured"])
    assert budget(m, _data(), startup=0.8) == pytest.approx(8.0)
