"""pytest fixtures for tests that run inside (or outside) a testfleet worker.

A plugin module: the testfleet plugin registers it under :data:`PLUGIN_NAME`; without testfleet, enable
it with ``-p testfleet.testing.fixtures`` or ``pytest_plugins = ["testfleet.testing.fixtures"]``.
Importing it costs the standard library and pytest only.
"""

from __future__ import annotations

import pytest

from testfleet.testing.identity import FleetWorker
from testfleet.testing.ports import PortRange, shared_range

PLUGIN_NAME = "testfleet.testing.fixtures"

__all__ = ["PLUGIN_NAME", "fleet_ports", "fleet_worker"]


@pytest.fixture(scope="session")
def fleet_worker() -> FleetWorker:
    """This worker's id (``"w3"``, or ``"local"`` under plain pytest) and the number of workers."""
    return FleetWorker.from_env()


@pytest.fixture(scope="session")
def fleet_ports() -> PortRange:
    """This worker's own port range; ``fleet_ports.free_port()`` never collides with another worker.

    One object per process (also the default of ``ProcessCluster``), so
    successive ``free_port()`` calls never repeat a port until the range wraps around.
    """
    return shared_range()
