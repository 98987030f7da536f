"""The one option table generates the pytest options and reads them back (options.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from testfleet.options import OPTIONS, add_pytest_options, by_run_flag, label, pytest_values


class Group:
    def __init__(self) -> None:
        self.added: dict[str, dict[str, Any]] = {}

    def addoption(self, name: str, **kw: Any) -> None:
        self.added[name] = kw


def test_every_option_with_a_flag_is_a_pytest_option_and_reads_back() -> None:
    group = Group()
    add_pytest_options(group)
    flagged = [o for o in OPTIONS if o.run_flags]
    assert sorted(group.added) == sorted(o.pytest_option for o in flagged)
    namespace = SimpleNamespace(**{kw["dest"]: kw["default"] for kw in group.added.values()})
    assert pytest_values(namespace) == {o.name: None for o in flagged}  # nothing given
    namespace.fleet, namespace.fleet_timeout, namespace.fleet_tags = "3", "9", ["a"]
    values = pytest_values(namespace)
    assert (values["workers"], values["timeout"], values["tags"]) == ("3", "9", ["a"])
    assert group.added["--fleet-allow-unschedulable"]["action"] == "store_true"
    assert group.added["--fleet-tag"]["action"] == "append"


def test_run_flags_and_names() -> None:
    flags = by_run_flag()
    assert flags["-w"] is flags["--workers"] and flags["-w"].pytest_option == "--fleet"
    assert flags["--tag"].pytest_option == "--fleet-tag" and flags["--tag"].env_var == "TESTFLEET_TAGS"
    o = flags["--timeout"]
    assert (label(o, "env"), label(o, "pyproject")) == ("TESTFLEET_TIMEOUT", "[tool.testfleet] timeout")
