from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from testfleet.compat import randomly

FAKE = ModuleType("pytest_randomly")


class FakePluginManager:
    def __init__(self, registered: list[object]) -> None:
        self.registered = registered

    def is_registered(self, plugin: object) -> bool:
        return plugin in self.registered


def fake_config(seed: object, args: list[str], loaded: bool = True) -> Any:
    return SimpleNamespace(
        option=SimpleNamespace(randomly_seed=seed),
        invocation_params=SimpleNamespace(args=tuple(args)),
        pluginmanager=FakePluginManager([FAKE] if loaded else []),
    )


@pytest.fixture(autouse=True)
def randomly_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytest_randomly", FAKE)


def test_the_controllers_seed_is_forwarded() -> None:
    assert randomly.forwarded_args(fake_config(1234, ["tests"])) == ["--randomly-seed=1234"]


@pytest.mark.parametrize("args", [["--randomly-seed=1234"], ["--randomly-seed", "1234"]])
def test_nothing_is_added_when_the_arguments_say_it_already(args: list[str]) -> None:
    assert randomly.forwarded_args(fake_config(1234, args)) == []


def test_a_seed_resolved_from_last_is_forwarded_as_a_number() -> None:
    assert randomly.forwarded_args(fake_config(99, ["--randomly-seed=last"])) == ["--randomly-seed=99"]


def test_nothing_without_the_plugin_or_its_seed() -> None:
    assert randomly.forwarded_args(fake_config(1, [], loaded=False)) == []
    assert randomly.forwarded_args(fake_config("default", [])) == []  # plugin disabled: no seed chosen
