"""One exception hierarchy for testfleet.

Messages name the bad value and what is accepted; the CLI prints them on one line.
"""

from __future__ import annotations


class TestfleetError(Exception):
    """Base of every error testfleet raises on purpose."""

    __test__ = False

    exit_code = 3


class UsageError(TestfleetError):
    """The user asked for something invalid (option, value, marker). Exit code 4."""

    exit_code = 4


class StoreError(TestfleetError):
    """The results store cannot be opened, read or written."""

    exit_code = 1


class ExecutorError(TestfleetError):
    """Workers could not be started or kept alive (internal error, exit code 3)."""

    exit_code = 3
