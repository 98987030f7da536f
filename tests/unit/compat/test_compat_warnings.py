from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest
from _pytest.warnings import warning_record_to_str

from testfleet.compat import warnings as compat_warnings


class FakeHistoricHook:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def call_historic(self, kwargs: dict[str, Any]) -> None:
        self.calls.append(kwargs)


def fake_config() -> tuple[Any, FakeHistoricHook]:
    hook = FakeHistoricHook()
    return SimpleNamespace(hook=SimpleNamespace(pytest_warning_recorded=hook)), hook


def test_category_finds_builtin_and_pytest_warnings_and_names_the_others() -> None:
    assert compat_warnings.category("DeprecationWarning") is DeprecationWarning
    assert compat_warnings.category("PytestCollectionWarning") is pytest.PytestCollectionWarning
    made = compat_warnings.category("LibraryWarning")
    assert issubclass(made, UserWarning) and made.__name__ == "LibraryWarning"
    assert compat_warnings.category("LibraryWarning") is made
    assert compat_warnings.category("ValueError") is not ValueError  # not a warning class


def test_reemit_records_the_workers_warning_as_pytest_would() -> None:
    config, hook = fake_config()
    compat_warnings.reemit(
        config,
        {
            "t": "warning",
            "nodeid": "test_a.py::test_x",
            "when": "runtest",
            "message": "old api",
            "category": "DeprecationWarning",
            "filename": "/src/test_a.py",
            "lineno": 7,
        },
    )
    [call] = hook.calls
    assert (call["when"], call["nodeid"], call["location"]) == ("runtest", "test_a.py::test_x", None)
    text = warning_record_to_str(call["warning_message"])
    assert text.startswith("/src/test_a.py:7: DeprecationWarning: old api")


def test_a_message_round_trips_through_message_of() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(RuntimeWarning("spin"), stacklevel=1)
    msg = compat_warnings.message_of(caught[0], "collect", "")
    config, hook = fake_config()
    compat_warnings.reemit(config, msg)
    again = hook.calls[0]["warning_message"]
    assert (again.category, str(again.message), again.lineno, hook.calls[0]["when"]) == (
        RuntimeWarning,
        "spin",
        caught[0].lineno,
        "collect",
    )


def test_controller_warnings_are_recorded_not_shown(capsys: pytest.CaptureFixture[str]) -> None:
    config, hook = fake_config()
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # the process's filters, not this suite's "error"
        with compat_warnings.recorded_in_controller(config):
            warnings.warn(UserWarning("in the loop"), stacklevel=1)
    assert capsys.readouterr().err == ""
    assert [str(c["warning_message"].message) for c in hook.calls] == ["in the loop"]


@pytest.mark.parametrize("when", ["collect", "config"])
def test_what_a_worker_replays_from_before_its_fork_is_dropped(when: str) -> None:
    config, hook = fake_config()
    msg = {
        "t": "warning",
        "nodeid": "",
        "when": when,
        "message": "at import",
        "category": "UserWarning",
        "filename": "/src/test_a.py",
        "lineno": 2,
    }
    compat_warnings.reemit(config, msg)  # from a worker: the collector sent it already
    assert hook.calls == []
    compat_warnings.reemit(config, {**msg, "source": "collector"})
    assert len(hook.calls) == 1
