"""The worker side of hardware placement: each GPU test runs with exactly its GPUs.

The controller's ``run`` message carries ``env`` (node id -> variables) for the tests the
scheduler gave GPUs (:func:`testfleet.hardware.pool.run_env`); :class:`TestEnvPlugin` sets
them for the whole of that test's protocol (setup, call, teardown) and restores the
worker's own values afterwards.

CUDA reads ``CUDA_VISIBLE_DEVICES`` once, when a process first initialises it: a worker
that already used CUDA keeps the devices it had. The scheduler gives a GPU test its
worker's own GPU first, so on a one-GPU machine (and for one-GPU tests whenever that GPU
is free) the two agree.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

# node id -> environment for its next run; filled from ``run`` messages.
TEST_ENV: dict[str, dict[str, str]] = {}


def remember(msg: dict[str, Any]) -> None:
    """Keep a ``run`` message's per-test environments."""
    env = msg.get("env")
    if env:
        TEST_ENV.update(env)


class TestEnvPlugin:
    """Applies a test's environment around its run protocol."""

    __test__ = False  # not a test class, whatever pytest's naming rules say

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, Any, Any]:
        env = TEST_ENV.pop(item.nodeid, None)
        if not env:
            return (yield)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return (yield)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def register(config: pytest.Config) -> None:
    """In a worker: per-test environments, and MPI-launched tests."""
    from testfleet.worker.mpi import MpiPlugin

    config.pluginmanager.register(TestEnvPlugin(), "testfleet-test-env")
    config.pluginmanager.register(MpiPlugin(config), "testfleet-mpi")
