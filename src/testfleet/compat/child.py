"""The compat plugin of the collector and the workers (registered by plugin.pytest_configure
where ``TESTFLEET_ROLE`` is set; a forked worker inherits the collector's)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from testfleet.compat import benchmark, coverage, xdist
from testfleet.compat.warnings import message_of


class ChildCompat:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pid = os.getpid()  # a worker with another pid was forked from this collector
        self.collect_warnings: list[dict[str, Any]] = []  # sent with the collection
        coverage.child_configured()

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str, location: Any) -> None:
        # Collection happens here, once: its warnings go to the controller with the items.
        # ("config" warnings the controller records itself; a worker forwards its own.)
        if when == "collect" and not hasattr(self.config, "workerinput"):
            self.collect_warnings.append(message_of(warning_message, when, nodeid))

    @pytest.hookimpl(tryfirst=True)  # before other plugins look for config.workerinput
    def pytest_testfleet_worker_started(self, config: pytest.Config, worker_id: str) -> None:
        xdist.install(config, worker_id)
        coverage.worker_started(config, forked=os.getpid() != self.pid)

    @pytest.hookimpl(trylast=True)  # after other plugins filled config.workeroutput
    def pytest_testfleet_worker_stopping(self, config: pytest.Config, worker_id: str) -> None:
        output = xdist.workeroutput(config)
        benchmark.collect(config, output)
        coverage.save()
        if output:
            _send(config, {"t": "workeroutput", "data": output})

    def pytest_testfleet_collector_stopping(self, config: pytest.Config) -> None:
        coverage.save()


def _send(config: pytest.Config, msg: dict[str, Any]) -> None:
    """Queue ``msg`` on the worker's channel to the controller (it goes with the ``bye``;
    what JSON cannot hold arrives as its repr)."""
    worker = config.pluginmanager.get_plugin("testfleet-worker")
    chan = getattr(worker, "chan", None)
    if chan is not None:
        chan.queue(msg)
