"""The compat plugin of the controller (registered by plugin.pytest_configure in a fleet run)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from testfleet.compat import benchmark, coverage
from testfleet.compat.warnings import recorded_in_controller


class ControllerCompat:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.coverage_run = coverage.controller_configured(config)
        self.outputs: dict[str, dict[str, Any]] = {}  # worker id -> its workeroutput

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, Any, Any]:
        # Outermost: also what other plugins' wrappers warn about after the loop (coverage).
        with recorded_in_controller(self.config):
            return (yield)

    def node_output(self, worker_id: str, output: dict[str, Any]) -> None:
        """A worker's ``workeroutput``, as xdist's ``node.workeroutput`` at testnodedown."""
        self.outputs[worker_id] = output
        benchmark.merge(self.config, output, self._order())
        self.config.hook.pytest_testfleet_worker_output(
            config=self.config, worker_id=worker_id, output=output
        )

    def _order(self) -> dict[str, int]:
        """Node id -> index in the collection (the run state's items)."""
        from testfleet.stash import STATE_KEY

        state = self.config.stash.get(STATE_KEY, None)
        items = getattr(state, "items", None) or []
        return {info["nodeid"]: i for i, info in enumerate(items)}

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.coverage_run is not None:
            self.coverage_run.finish()
            self.coverage_run = None
