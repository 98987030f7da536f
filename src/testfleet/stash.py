"""The run's state in ``config.stash`` (pytest's typed plugin storage), apart from the plugin
module so that what the plugin starts (run state, controller, display) can reach it without
importing the plugin back (tests/unit/test_layers.py: no import cycles)."""

from __future__ import annotations

from typing import Any

import pytest

from testfleet.events import EventBus

STATE_KEY = pytest.StashKey["Any"]()
EVENTS_KEY = pytest.StashKey["EventBus"]()


def event_bus(config: pytest.Config) -> EventBus:
    """The run's event bus (testfleet.events), created on first use.

    The controller publishes on it; the terminal display, the store writer, CI output and the
    dashboard subscribe (in ``pytest_configure`` or later, before the run loop starts).
    """
    bus = config.stash.get(EVENTS_KEY, None)
    if bus is None:
        bus = config.stash[EVENTS_KEY] = EventBus()
    return bus


def run_state(config: pytest.Config) -> Any:
    """The run's RunState, or None outside a fleet run's controller."""
    return config.stash.get(STATE_KEY, None)
