"""Warnings into pytest's warnings summary, from the workers and from the controller itself.

A worker sends each warning pytest records (``pytest_warning_recorded``) as a ``warning``
message; :func:`reemit` calls the same hook in the controller, so the terminal summary
shows ``2 passed, 2 warnings`` and the "warnings summary" section as plain pytest does.
Warnings raised in the controller while the run loop draws its progress line (a plugin's
warning, coverage's) are recorded, not printed into the line, and join the summary too
(:func:`recorded_in_controller`).
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

import pytest

_MADE: dict[str, type[Warning]] = {}


def category(name: str) -> type[Warning]:
    """The warning class named ``name``: a builtin or pytest's own, else a stand-in
    subclass of UserWarning with that name (the summary shows only the name)."""
    for where in (builtins, pytest):
        found = getattr(where, name, None)
        if isinstance(found, type) and issubclass(found, Warning):
            return found
    made = _MADE.get(name)
    if made is None:
        made = _MADE[name] = type(name, (UserWarning,), {"__module__": "testfleet.remote"})
    return made


def message_of(warning_message: warnings.WarningMessage, when: str, nodeid: str) -> dict[str, Any]:
    """A warning the collector recorded, as a ``warning`` message (the worker loop's format)."""
    return {
        "t": "warning",
        "source": "collector",
        "nodeid": nodeid,
        "when": when,
        "message": str(warning_message.message),
        "category": warning_message.category.__name__,
        "filename": warning_message.filename,
        "lineno": warning_message.lineno,
    }


def _record(config: pytest.Config, message: warnings.WarningMessage, when: str, nodeid: str) -> None:
    config.hook.pytest_warning_recorded.call_historic(
        kwargs={"warning_message": message, "when": when, "nodeid": nodeid, "location": None}
    )


def reemit(config: pytest.Config, msg: dict[str, Any]) -> None:
    """A worker's (or the collector's) ``warning`` message, recorded in the controller as
    pytest would have. A worker records its tests' warnings ("runtest"); it also replays
    what the collector recorded before the fork (pytest_warning_recorded is a historic
    hook), which the collector already sent once ("collect") or the controller recorded
    itself ("config"): those are dropped."""
    if msg.get("when", "runtest") != "runtest" and msg.get("source") != "collector":
        return
    cat = category(str(msg.get("category") or "UserWarning"))
    text = str(msg.get("message", ""))
    try:
        instance: Warning | str = cat(text)
    except Exception:  # noqa: BLE001 - a warning class with another constructor
        instance = text
    message = warnings.WarningMessage(
        instance, cat, str(msg.get("filename") or "?"), int(msg.get("lineno") or 0)
    )
    _record(config, message, str(msg.get("when") or "runtest"), str(msg.get("nodeid") or ""))


@contextmanager
def recorded_in_controller(config: pytest.Config) -> Generator[None]:
    """Record the controller's warnings while the block runs; they go to the summary."""
    with warnings.catch_warnings(record=True) as caught:
        try:
            yield
        finally:
            for message in caught:
                _record(config, message, "runtest", "")
