"""Fixtures and helpers for the Ray backend tests: a real multi-node Ray cluster on this one
machine (``ray.cluster_utils.Cluster``: every node is its own raylet), and testfleet run as a
subprocess against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Node death is noticed after period x threshold; Ray's defaults (3s x 5) make a lost-node
# test slow for nothing.
FAST_NODE_DEATH = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}
NODE_ARGS: dict[str, Any] = {"object_store_memory": 80 * 2**20, "include_dashboard": False}


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


class RayCluster:
    """A head node (1 CPU) and a ``gpu_sim`` node (1 CPU, resource gpu_sim=1)."""

    def __init__(self) -> None:
        from ray.cluster_utils import Cluster

        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={**NODE_ARGS, "num_cpus": 1, "_system_config": FAST_NODE_DEATH},
        )
        self.head = self.cluster.head_node
        self.gpu_node = self.add_node(resources={"gpu_sim": 1})

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def add_node(self, **args: Any) -> Any:
        return self.cluster.add_node(**NODE_ARGS, num_cpus=1, **args)

    def kill_node(self, node: Any) -> None:
        """SIGKILL the node's raylet and its other processes, as if the machine went away."""
        self.cluster.remove_node(node, allow_graceful=False)

    def shutdown(self) -> None:
        self.cluster.shutdown()


@pytest.fixture(scope="module", name="ray_cluster")
def ray_cluster_fixture() -> Iterator[RayCluster]:
    pytest.importorskip("ray", reason="the Ray backend tests need Ray (pip install 'testfleet[ray]')")
    cluster = RayCluster()
    try:
        yield cluster
    finally:
        cluster.shutdown()


def run_testfleet(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 150,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``python -m testfleet run ...`` in ``cwd``; the completed process and the report JSON."""
    report = cwd / "report.json"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TESTFLEET_", "PYTEST_"))}
    full_env.update(env or {})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "testfleet",
            "run",
            "--db",
            "none",
            "--report-json",
            str(report),
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc, data


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {t["nodeid"]: t["outcome"] for t in report["tests"]}


def executions(path: Path) -> list[tuple[str, str]]:
    """(nodeid, ray node id) per line the suite's tests appended."""
    if not path.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines() if line]  # type: ignore[misc]
