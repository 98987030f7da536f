"""The controller: the run loop of a fleet run, inside the pytest process the user started.

A package of small modules, one layer of :class:`Controller` each (``base.py`` lists them):
the loop, the transport, worker handles, dispatch, verdicts, collection. What other modules
import from here is re-exported below.
"""

from __future__ import annotations

from testfleet.controller.collection import CollectionFailed, DeselectedItem
from testfleet.controller.dispatch import MAX_DEPTH, PREFETCH_SECONDS, STEAL_SECONDS
from testfleet.controller.lifecycle import EARLY_DEATH_LIMIT, EXIT_GRACE, HEALTH_EVERY, KILL_GRACE
from testfleet.controller.loop import Controller
from testfleet.controller.verdicts import FREEZE_EVERY
from testfleet.controller.workers import NAP_MAX, NAP_MIN, Worker, WorkerStatus, nap_seconds

__all__ = [
    "EARLY_DEATH_LIMIT",
    "EXIT_GRACE",
    "FREEZE_EVERY",
    "HEALTH_EVERY",
    "KILL_GRACE",
    "MAX_DEPTH",
    "NAP_MAX",
    "NAP_MIN",
    "PREFETCH_SECONDS",
    "STEAL_SECONDS",
    "CollectionFailed",
    "Controller",
    "DeselectedItem",
    "Worker",
    "WorkerStatus",
    "nap_seconds",
]
