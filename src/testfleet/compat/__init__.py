"""Plugins written for plain pytest or pytest-xdist, working unchanged in a fleet run.

A fleet run splits one pytest session over three kinds of process: the controller (the
pytest process the user started: reporting, the terminal summary, exit code), the collector
(imports and collects once, never runs a test) and the workers (forked from the collector,
or spawned). A plugin that keeps state in one process sees only its part of the run. This
package makes the most-used plugins see the whole run (design and matrix: docs/plugins.md):

- :mod:`testfleet.compat.xdist`: every worker carries the identity xdist plugins look for
  (``config.workerinput`` with ``workerid`` ``gw<slot>``, ``PYTEST_XDIST_WORKER``...) and a
  ``config.workeroutput`` dict that travels back to the controller when the worker ends.
- :mod:`testfleet.compat.coverage`: coverage measured in the collector and every worker is
  saved before they leave (through ``os._exit``) and combined in the controller.
- :mod:`testfleet.compat.randomly`: pytest-randomly's seed is chosen once, by the controller.
- :mod:`testfleet.compat.benchmark`: pytest-benchmark results travel back to the controller.
- :mod:`testfleet.compat.warnings`: worker warnings reach pytest's warnings summary.

Entry points used by the core (one call each): :func:`configure_controller` and
:func:`configure_child` (plugin.py), :func:`collector_args` (executor), :func:`worker_env` (run state), :func:`node_output`
(controller, ``workeroutput`` messages), :func:`warning_from_worker` (run state),
:func:`collection_warnings` (collector).
"""

from __future__ import annotations

from typing import Any

import pytest


def configure_controller(config: pytest.Config) -> None:
    """In the controller of a fleet run (plugin.pytest_configure)."""
    from testfleet.compat.controller import ControllerCompat

    if not config.pluginmanager.has_plugin("testfleet-compat"):
        config.pluginmanager.register(ControllerCompat(config), "testfleet-compat")


def configure_child(config: pytest.Config) -> None:
    """In the collector and in spawned workers (plugin.pytest_configure); forked workers
    inherit what the collector registered."""
    from testfleet.compat.child import ChildCompat

    if not config.pluginmanager.has_plugin("testfleet-compat"):
        config.pluginmanager.register(ChildCompat(config), "testfleet-compat")


def collector_args(config: pytest.Config) -> list[str]:
    """pytest arguments the collector (and spawned workers) need on top of the user's, so
    they decide as the controller did (pytest-randomly's seed)."""
    from testfleet.compat import randomly

    return randomly.forwarded_args(config)


def worker_env(config: pytest.Config, worker_id: str) -> dict[str, str]:
    """Environment for a worker about to start: what plugins return from
    ``pytest_testfleet_worker_input``, for its ``config.workerinput``."""
    from testfleet.compat import xdist

    return xdist.input_env(config, worker_id)


def node_output(config: pytest.Config, worker_id: str, output: dict[str, Any]) -> None:
    """The controller received a worker's ``workeroutput`` (it ended normally)."""
    plugin = config.pluginmanager.get_plugin("testfleet-compat")
    if plugin is not None:
        plugin.node_output(worker_id, output)


def collection_warnings(config: pytest.Config) -> list[dict[str, Any]]:
    """In the collector: the warnings recorded while collecting, as ``warning`` messages."""
    plugin = config.pluginmanager.get_plugin("testfleet-compat")
    return list(getattr(plugin, "collect_warnings", []))


def warning_from_worker(config: pytest.Config, msg: dict[str, Any]) -> None:
    """A worker's ``warning`` message: into pytest's warnings summary."""
    from testfleet.compat.warnings import reemit

    reemit(config, msg)
