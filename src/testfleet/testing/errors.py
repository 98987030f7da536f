"""Errors raised by the testing toolkit.

They subclass the one hierarchy in :mod:`testfleet.errors`, so ``except TestfleetError`` catches them
too. Misuse (a bad argument) is a :class:`~testfleet.errors.UsageError`; a fault of the system under
test or of the machine (a node that will not start, no free port) is a :class:`ToolkitError`.
"""

from __future__ import annotations

from testfleet.errors import TestfleetError, UsageError


class ToolkitError(TestfleetError):
    """Base of every error raised by :mod:`testfleet.testing`."""


class ToolkitUsageError(ToolkitError, UsageError):
    """A toolkit function was called with an invalid argument; the message names it."""


class PortRangeError(ToolkitUsageError):
    """A port range is empty, out of 1..65535, or the workers' ranges do not fit."""


class NoFreePortError(ToolkitError):
    """Every port of a range is busy right now."""


class ClusterError(ToolkitError):
    """A node of a :class:`~testfleet.testing.cluster.ProcessCluster` could not be started or died."""


class ProxyError(ToolkitError):
    """A :class:`~testfleet.testing.faults.FaultProxy` could not start or was used after close."""


class HistoryError(ToolkitUsageError):
    """A recorded history is malformed (completion without invocation, two pending ops...)."""


class CheckerLimitError(ToolkitError):
    """A checker gave up: the history is too large or too concurrent to search exhaustively."""
