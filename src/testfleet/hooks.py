"""pytest hooks that testfleet adds (registered with ``pluginmanager.add_hookspecs``).

Worker-side hooks run inside each worker process (forked, spawned or on a Ray node);
controller-side hooks run in the pytest process the user started.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_testfleet_worker_started(config: pytest.Config, worker_id: str) -> None:
    """Worker side: the worker is ready and about to run its first test.

    Called once per worker process, after fork/spawn, with the collected session available.
    Use it to start per-worker instrumentation (coverage, tracing).
    """


@pytest.hookspec
def pytest_testfleet_worker_stopping(config: pytest.Config, worker_id: str) -> None:
    """Worker side: the worker finished its last test and is about to exit normally.

    Not called when the worker crashes or is killed for a timeout.
    """


@pytest.hookspec
def pytest_testfleet_collector_stopping(config: pytest.Config) -> None:
    """Collector side: the collector is about to exit (it leaves through ``os._exit``, so
    nothing of pytest's session end runs there). Use it to save per-process data (coverage).
    """


@pytest.hookspec
def pytest_testfleet_result(config: pytest.Config, result: Any) -> None:
    """Controller side: one test attempt ended (``result`` is a :class:`testfleet.model.TestResult`)."""
