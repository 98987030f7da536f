"""The Ray executor plans against a fake cluster (no Ray): what it decides is its own, the
Settings it was given stay as they were."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from testfleet.config import Settings
from testfleet.errors import UsageError
from testfleet.executor.local import LaunchSpec
from testfleet.executor.ray import RayExecutor
from testfleet.executor.ray_placement import TAG_AMOUNT, fits
from testfleet.scheduler import protocol

NODES = [
    {"NodeID": "head", "NodeManagerAddress": "127.0.0.1", "Alive": True, "Resources": {"CPU": 2.0}},
    {
        "NodeID": "gpu",
        "NodeManagerAddress": "127.0.0.1",
        "Alive": True,
        "Resources": {"CPU": 2.0, "gpu_sim": 1.0},
    },
]


class FakeCluster:
    """Two nodes; places bundles first-fit on them, or not at all when they do not fit."""

    def __init__(self, nodes: list[dict[str, Any]] = NODES) -> None:
        self.node_list = nodes
        self.connected: tuple[str | None, int | None, dict[str, Any]] | None = None
        self.placed: list[dict[str, float]] = []
        self.removed: list[Any] = []
        self.shut = False

    def connect(self, address: str | None, num_cpus: int | None, runtime_env: dict[str, Any]) -> None:
        self.connected = (address, num_cpus, runtime_env)

    def redirect_messages(self, sink: Callable[[dict[str, Any]], None]) -> None:
        pass

    def total_cpus(self) -> int:
        return int(sum(n["Resources"].get("CPU", 0) for n in self.node_list))

    def node_ip(self) -> str:
        return "127.0.0.1"

    def nodes(self) -> list[dict[str, Any]]:
        return self.node_list

    def total_resources(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for n in self.node_list:
            for k, v in n["Resources"].items():
                out[k] = out.get(k, 0.0) + v
        return out

    def available_resources(self) -> dict[str, float]:
        return self.total_resources()

    def place(self, bundles: Sequence[Mapping[str, float]], timeout: float) -> Any:
        free = [dict(n["Resources"]) for n in self.node_list]
        where: dict[int, str] = {}
        for i, bundle in enumerate(bundles):
            j = next((j for j, res in enumerate(free) if fits(bundle, res)), None)
            if j is None:
                return None
            for k, v in bundle.items():
                free[j][k] -= v
            where[i] = self.node_list[j]["NodeID"]
        self.placed = [dict(b) for b in bundles]
        return where

    def bundle_nodes(self, group: Any) -> dict[int, str]:
        return dict(group)

    def remove(self, group: Any) -> None:
        self.removed.append(group)

    def shutdown(self) -> None:
        self.shut = True


def spec(i: int, tags: set[str] | None = None) -> protocol.TestSpec:
    return protocol.TestSpec(i, f"test_m.py::t{i}", tags=frozenset(tags or ()))


@pytest.fixture
def launch(tmp_path: Path) -> LaunchSpec:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    return LaunchSpec(args=[str(tmp_path)], cwd=str(tmp_path), start="fork")


def run_plan(
    settings: Settings, launch: LaunchSpec, specs: list[protocol.TestSpec], cluster: FakeCluster
) -> RayExecutor:
    executor = RayExecutor(launch, settings, cluster=cluster)
    try:
        executor.start_collector()
        executor.early_workers()
        executor.plan(specs)
    finally:
        executor.shutdown(wait=1.0)
    return executor


def test_planning_leaves_the_settings_unchanged_and_the_executor_owns_what_it_decided(
    launch: LaunchSpec,
) -> None:
    settings = Settings(ray_ship=False)  # -w not given: the cluster's CPUs decide
    before = dataclasses.replace(settings)
    cluster = FakeCluster()
    executor = run_plan(settings, launch, [spec(0), spec(1, {"gpu_sim"}), spec(2)], cluster)
    assert settings == before
    assert (settings.workers, settings.start) == (2, "fork")
    assert executor.workers == 4 and executor.settings.workers == 4 and executor.settings.start == "spawn"
    # The tagged test got a slot on the gpu_sim node; the others are plain one-CPU slots.
    assert cluster.placed == [{"CPU": 1.0, "gpu_sim": TAG_AMOUNT}, {"CPU": 1.0}, {"CPU": 1.0}, {"CPU": 1.0}]
    assert executor.slot_caps(0)["node"] == "gpu" and executor.slot_caps(0)["gpu_sim"] is True
    assert cluster.connected == (None, None, {}) and cluster.shut
    assert cluster.removed == [{0: "gpu", 1: "head", 2: "head", 3: "gpu"}]


def test_w_given_is_the_fleet_and_sizes_a_self_started_instance(launch: LaunchSpec) -> None:
    settings = Settings(workers=3, workers_given=True, ray_ship=False)
    before = dataclasses.replace(settings)
    cluster = FakeCluster()
    executor = run_plan(settings, launch, [spec(0), spec(1)], cluster)
    assert settings == before
    assert executor.workers == 3 and cluster.connected == (None, 3, {})
    assert cluster.placed == []  # plain slots only: the early workers stay, nothing is placed


def test_a_plan_the_cluster_cannot_hold_is_a_usage_error_and_changes_nothing(launch: LaunchSpec) -> None:
    settings = Settings(workers=5, workers_given=True, ray_ship=False)
    before = dataclasses.replace(settings)
    with pytest.raises(UsageError, match=r"the cluster cannot hold 5 workers .* Pass fewer workers with -w"):
        run_plan(settings, launch, [spec(0, {"gpu_sim"})], FakeCluster())
    assert settings == before
