"""GPU detection inputs: TESTFLEET_FAKE_GPUS, CUDA_VISIBLE_DEVICES filtering, fake memory."""

from __future__ import annotations

import pytest

from testfleet.errors import UsageError
from testfleet.hardware.gpus import Gpu, detect, host_memory_gb, parse_fake, visible


def test_fake_gpus_count_and_memory() -> None:
    assert [(g.index, g.memory_gb) for g in parse_fake("2")] == [(0, 80.0), (1, 80.0)]
    assert [(g.index, g.memory_gb) for g in parse_fake("3:40")] == [(0, 40.0), (1, 40.0), (2, 40.0)]
    assert parse_fake("0") == []


@pytest.mark.parametrize("bad", ["two", "2:", "-1", "2:0", "2:x"])
def test_bad_fake_gpus_name_the_variable_and_the_forms(bad: str) -> None:
    with pytest.raises(UsageError, match="TESTFLEET_FAKE_GPUS"):
        parse_fake(bad if bad != "2:" else "2:-3")


def test_cuda_visible_devices_keeps_only_the_listed_gpus_by_index_or_uuid() -> None:
    gpus = [Gpu(0, "a", 80, "GPU-a"), Gpu(1, "b", 80, "GPU-b"), Gpu(2, "c", 80, "GPU-c")]
    assert visible(gpus, None) == gpus
    assert visible(gpus, "") == []
    assert [g.index for g in visible(gpus, "2,0")] == [2, 0]
    assert [g.index for g in visible(gpus, "GPU-b")] == [1]
    assert visible(gpus, "7") == []


def test_detect_prefers_the_fake_and_honours_cuda_visible_devices() -> None:
    assert [g.index for g in detect({"TESTFLEET_FAKE_GPUS": "2"})] == [0, 1]
    assert [g.index for g in detect({"TESTFLEET_FAKE_GPUS": "2", "CUDA_VISIBLE_DEVICES": "1"})] == [1]
    assert detect({"TESTFLEET_FAKE_GPUS": "2", "CUDA_VISIBLE_DEVICES": ""}) == []


def test_fake_memory_replaces_the_hosts() -> None:
    assert host_memory_gb({"TESTFLEET_FAKE_MEMORY_GB": "23"}) == 23.0
    assert host_memory_gb({}) > 0
    with pytest.raises(UsageError, match="TESTFLEET_FAKE_MEMORY_GB"):
        host_memory_gb({"TESTFLEET_FAKE_MEMORY_GB": "lots"})
