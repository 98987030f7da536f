"""Which GPUs a slot sees (shared round-robin, exclusive) and what it advertises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testfleet.config import build
from testfleet.errors import UsageError
from testfleet.hardware.gpus import Gpu
from testfleet.hardware.machine import SLOT_CAPS_ENV, Machine, slot_caps_from_env
from testfleet.hardware.slots import default_gpus, parse_isolation, slot_env

GPUS = [Gpu(0, "H200", 141.0, "GPU-0"), Gpu(1, "H200", 141.0, "GPU-1")]


def indices(gpus: list[Gpu]) -> list[int]:
    return [g.index for g in gpus]


def test_shared_slots_take_the_gpus_round_robin_and_none_is_left_without() -> None:
    assert [indices(default_gpus(GPUS, s, 5, "shared")) for s in range(5)] == [[0], [1], [0], [1], [0]]
    assert [indices(default_gpus(GPUS[:1], s, 4, "shared")) for s in range(4)] == [[0]] * 4


def test_exclusive_slots_own_disjoint_gpus_and_extra_slots_get_none() -> None:
    assert [indices(default_gpus(GPUS, s, 3, "exclusive")) for s in range(3)] == [[0], [1], []]
    assert indices(default_gpus(GPUS, 0, 1, "exclusive")) == [0, 1]


def test_no_gpu_means_no_cuda_variable_at_all() -> None:
    assert slot_env([], 0, 4, "shared", {}) == {}
    assert slot_env(GPUS, 3, 4, "shared", {}) == {
        "CUDA_VISIBLE_DEVICES": "1",
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
    }
    assert slot_env(GPUS, 2, 3, "exclusive", {"CUDA_DEVICE_ORDER": "FASTEST_FIRST"}) == {
        "CUDA_VISIBLE_DEVICES": ""
    }


def test_slot_caps_travel_to_the_worker_and_leave_its_environment() -> None:
    machine = Machine(GPUS, 64.0, 3, "shared", environ={})
    env = machine.slot_env(2)
    caps = machine.slot_caps(2)
    assert caps["gpu"] == 2 and caps["gpu_visible"] == [0] and caps["gpu_memory_gb"] == 141.0
    assert caps["host_memory_gb"] == 64.0 and caps["gpus"][1] == {
        "index": 1,
        "name": "H200",
        "memory_gb": 141.0,
        "uuid": "GPU-1",
    }
    worker_env = dict(env)
    assert slot_caps_from_env(worker_env) == json.loads(env[SLOT_CAPS_ENV]) == caps
    assert SLOT_CAPS_ENV not in worker_env


def test_isolation_names_the_flag_and_choices() -> None:
    assert parse_isolation("exclusive") == "exclusive"
    with pytest.raises(UsageError, match="--gpu-isolation: 'private' is not one of shared, exclusive"):
        parse_isolation("private")


def test_gpu_isolation_setting_from_flag_env_and_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTFLEET_GPU_ISOLATION", raising=False)
    assert build({}, tmp_path).gpu_isolation == "shared"
    (tmp_path / "pyproject.toml").write_text('[tool.testfleet]\ngpu_isolation = "exclusive"\n')
    assert build({}, tmp_path).gpu_isolation == "exclusive"
    assert build({"gpu_isolation": "shared"}, tmp_path).gpu_isolation == "shared"
    monkeypatch.setenv("TESTFLEET_GPU_ISOLATION", "private")
    # The message names what the user set: here the environment variable.
    with pytest.raises(
        UsageError, match="TESTFLEET_GPU_ISOLATION: 'private' is not one of shared, exclusive"
    ):
        build({}, tmp_path)
