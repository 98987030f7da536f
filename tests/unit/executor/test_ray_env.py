"""What of the controller's environment reaches a Ray worker, and what its node adds."""

from __future__ import annotations

import json

from testfleet.executor.ray_env import forwarded_env, node_env, worker_env

CONTROLLER = {
    "PATH": "/usr/bin",
    "HOME": "/home/me",
    "PYTHONPATH": "/src",
    "CUDA_VISIBLE_DEVICES": "0",
    "RAY_ADDRESS": "head:6379",
    "LD_LIBRARY_PATH": "/opt",
    "XDG_RUNTIME_DIR": "/run",
    "CONDA_PREFIX": "/c",
    "TESTFLEET_SPEC": "{}",
    "API_URL": "http://x",
    "MY_FLAG": "1",
}


def test_only_what_describes_the_run_is_forwarded() -> None:
    assert forwarded_env(CONTROLLER) == {"API_URL": "http://x", "MY_FLAG": "1"}


def test_the_runs_variables_go_on_top_of_the_forwarded_ones() -> None:
    env = worker_env({**CONTROLLER, "TESTFLEET_WORKER": "stale"}, {"TESTFLEET_WORKER": "w3", "MY_FLAG": "2"})
    assert env == {"API_URL": "http://x", "MY_FLAG": "2", "TESTFLEET_WORKER": "w3"}


def test_the_node_keeps_its_own_machine_variables_under_what_was_sent() -> None:
    caps = {"node": "n1", "node_ip": "10.0.0.5", "gpu_ids": ["1", "3"]}
    env = node_env({"PATH": "/node/bin", "MY_FLAG": "node"}, {"MY_FLAG": "sent"}, {"role": "worker"}, caps)
    assert env["PATH"] == "/node/bin" and env["MY_FLAG"] == "sent"
    assert json.loads(env["TESTFLEET_SPEC"]) == {"role": "worker"}
    assert (env["TESTFLEET_RAY_NODE"], env["TESTFLEET_RAY_NODE_IP"], env["TESTFLEET_GPUS"]) == (
        "n1",
        "10.0.0.5",
        "1,3",
    )
    assert "TESTFLEET_GPUS" not in node_env({}, {}, {}, {**caps, "gpu_ids": []})
