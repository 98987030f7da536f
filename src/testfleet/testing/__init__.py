"""Toolkit for testing distributed systems with pytest (inside a testfleet run or not).

* :mod:`.ports`: :class:`PortRange`, one disjoint range of TCP ports per testfleet worker.
* :mod:`.fixtures`: the ``fleet_ports`` and ``fleet_worker`` pytest fixtures.
* :mod:`.waiting`: :func:`eventually`, wait for a condition with a deadline.
* :mod:`.cluster`: :class:`ProcessCluster`, start/kill/pause/restart local node processes.
* :mod:`.faults`: :class:`FaultProxy`, a TCP proxy with latency, partitions and resets.
* :mod:`.history` and :mod:`.checkers`: record operations, check linearizability and session guarantees.

Names are imported lazily, so ``import testfleet.testing.fixtures`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "PortRange": "ports",
    "ranges_for_workers": "ports",
    "worker_env": "ports",
    "shared_range": "ports",
    "port_is_free": "ports",
    "FleetWorker": "identity",
    "eventually": "waiting",
    "eventually_async": "waiting",
    "ProcessCluster": "cluster",
    "Node": "cluster",
    "port_accepts": "cluster",
    "NodeContext": "node",
    "FaultProxy": "faults",
    "ProxyStats": "faults",
    "History": "history",
    "Event": "history",
    "Operation": "history",
    "OpType": "history",
    "op": "history",
    "CheckResult": "verdict",
    "Model": "linearizability",
    "RegisterModel": "linearizability",
    "check_linearizable": "linearizability",
    "check_linearizable_kv": "linearizability",
    "check_monotonic_reads": "checkers",
    "check_read_your_writes": "checkers",
    "check_no_lost_writes": "checkers",
    "ToolkitError": "errors",
    "ToolkitUsageError": "errors",
    "PortRangeError": "errors",
    "NoFreePortError": "errors",
    "ClusterError": "errors",
    "ProxyError": "errors",
    "HistoryError": "errors",
    "CheckerLimitError": "errors",
}

__all__ = [
    "CheckResult",
    "CheckerLimitError",
    "ClusterError",
    "Event",
    "FaultProxy",
    "FleetWorker",
    "History",
    "HistoryError",
    "Model",
    "NoFreePortError",
    "Node",
    "NodeContext",
    "OpType",
    "Operation",
    "PortRange",
    "PortRangeError",
    "ProcessCluster",
    "ProxyError",
    "ProxyStats",
    "RegisterModel",
    "ToolkitError",
    "ToolkitUsageError",
    "check_linearizable",
    "check_linearizable_kv",
    "check_monotonic_reads",
    "check_no_lost_writes",
    "check_read_your_writes",
    "eventually",
    "eventually_async",
    "op",
    "port_accepts",
    "port_is_free",
    "ranges_for_workers",
    "shared_range",
    "worker_env",
]

if TYPE_CHECKING:
    from testfleet.testing.checkers import check_monotonic_reads, check_no_lost_writes, check_read_your_writes
    from testfleet.testing.cluster import Node, ProcessCluster, port_accepts
    from testfleet.testing.errors import (
        CheckerLimitError,
        ClusterError,
        HistoryError,
        NoFreePortError,
        PortRangeError,
        ProxyError,
        ToolkitError,
        ToolkitUsageError,
    )
    from testfleet.testing.faults import FaultProxy, ProxyStats
    from testfleet.testing.history import Event, History, Operation, OpType, op
    from testfleet.testing.identity import FleetWorker
    from testfleet.testing.linearizability import (
        Model,
        RegisterModel,
        check_linearizable,
        check_linearizable_kv,
    )
    from testfleet.testing.node import NodeContext
    from testfleet.testing.ports import PortRange, port_is_free, ranges_for_workers, shared_range, worker_env
    from testfleet.testing.verdict import CheckResult
    from testfleet.testing.waiting import eventually, eventually_async


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'testfleet.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"testfleet.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
