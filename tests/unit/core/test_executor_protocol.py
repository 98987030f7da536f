"""Both executors offer every member of the executor protocol, and the controller uses the
protocol instead of probing executors with hasattr/getattr (issue 14)."""

from __future__ import annotations

from pathlib import Path

import testfleet.controller as controller_mod
from testfleet.executor.local import LaunchSpec, LocalExecutor
from testfleet.executor.protocol import Executor

METHODS = sorted(n for n, v in vars(Executor).items() if not n.startswith("_") and callable(v))
ATTRIBUTES = sorted(Executor.__annotations__)


def test_the_local_executor_has_every_member(tmp_path: Path) -> None:
    executor = LocalExecutor(LaunchSpec(args=[], cwd=str(tmp_path)))
    try:
        missing = [n for n in METHODS + ATTRIBUTES if not hasattr(executor, n)]
        assert missing == []
        assert executor.placed is False and executor.listeners == [executor.listener]
        assert executor.lost("w0") is None and executor.pause("w0") is False  # no such worker
    finally:
        executor.shutdown(wait=0)


def test_the_ray_executor_class_has_every_method() -> None:
    from testfleet.executor.ray import RayExecutor

    assert [n for n in METHODS if not callable(getattr(RayExecutor, n, None))] == []
    assert RayExecutor.placed is True


def test_the_controller_does_not_probe_the_executor() -> None:
    modules = sorted(Path(controller_mod.__file__).parent.glob("*.py"))  # the controller package
    assert len(modules) > 5
    for path in modules:
        source = path.read_text(encoding="utf-8")
        for probe in ("hasattr(self.executor", "getattr(self.executor", "getattr(executor"):
            assert probe not in source, path.name
    assert len(METHODS) >= 20
