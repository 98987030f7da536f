"""Executors start, feed and kill workers. ``local`` (default) and ``ray`` implement one
protocol, :class:`testfleet.executor.protocol.Executor`; ``make_executor`` returns it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # testfleet run imports this package before pytest, to start the collector early
    import pytest

    from testfleet.config import Settings
    from testfleet.executor.protocol import Executor


def collector_args(config: pytest.Config) -> list[str]:
    from testfleet.compat import collector_args as compat_args  # e.g. the controller's random seed

    return [str(a) for a in config.invocation_params.args] + compat_args(config)


def make_executor(config: pytest.Config, settings: Settings) -> Executor:
    from testfleet.config import worker_threads
    from testfleet.executor.local import LaunchSpec

    spec = LaunchSpec(
        args=collector_args(config),
        cwd=str(config.invocation_params.dir),
        start=settings.start,
        gc_freeze=settings.gc_freeze,
        collectors=settings.collectors,
        # Ray caps its workers' threads itself (one per CPU it gives them).
        threads=worker_threads(settings.workers) if settings.backend == "local" else 0,
    )
    if settings.backend == "ray":
        from testfleet.executor.ray import RayExecutor

        return RayExecutor(spec, settings)
    from testfleet.executor.local import LocalExecutor

    return LocalExecutor(spec, settings)
