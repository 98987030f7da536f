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
def pytest_testfleet_worker_input(config: pytest.Config, worker_id: str) -> dict[str, Any] | None:
    """Controller side: data for a worker about to start, merged into its ``config.workerinput``
    (JSON-able values; the equivalent of pytest-xdist's ``pytest_configure_node``).

    The worker reads it from ``config.workerinput`` in ``pytest_testfleet_worker_started``
    or later (a worker is configured before it exists: it is forked from the collector).
    """


@pytest.hookspec
def pytest_testfleet_worker_output(config: pytest.Config, worker_id: str, output: dict[str, Any]) -> None:
    """Controller side: what a worker's plugins put in its ``config.workeroutput`` (JSON-able
    values), received when the worker ended normally (pytest-xdist's ``pytest_testnodedown``).
    """


@pytest.hookspec
def pytest_testfleet_collector_stopping(config: pytest.Config) -> None:
    """Collector side: the collector is about to exit (it leaves through ``os._exit``, so
    nothing of pytest's session end runs there). Use it to save per-process data (coverage).
    """


@pytest.hookspec
def pytest_testfleet_result(config: pytest.Config, result: Any) -> None:
    """Controller side: one test attempt ended (``result`` is a :class:`testfleet.model.TestResult`)."""
