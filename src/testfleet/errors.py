"""One exception hierarchy for testfleet.

Each error carries its exit code; the CLI (``testfleet.cli.main``) catches them once and prints
``testfleet: error: <message>`` on one line. Messages name the bad value (with the name the
user typed: flag, ``TESTFLEET_*`` variable or ``[tool.testfleet]`` key) and what is accepted.

Exit codes: 0 passed, 1 tests failed, 2 interrupted, 3 internal error, 4 usage error, 5 no tests.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL = 3
EXIT_USAGE = 4
EXIT_NO_TESTS = 5


class TestfleetError(Exception):
    """Base of every error testfleet raises on purpose."""

    __test__ = False

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(TestfleetError):
    """The user asked for something invalid (option, value, path, marker). Exit code 4."""

    exit_code = EXIT_USAGE


class MissingDependencyError(UsageError):
    """An optional dependency the asked-for feature needs is not installed. Exit code 4."""


class StoreError(TestfleetError):
    """The results store cannot be opened, read or written. Exit code 1."""

    exit_code = EXIT_TESTS_FAILED
