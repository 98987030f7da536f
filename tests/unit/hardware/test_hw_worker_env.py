"""The worker applies a GPU test's environment around its protocol and restores its own."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from testfleet.hardware import worker


def run_protocol(nodeid: str, seen: dict[str, str | None]) -> None:
    gen = worker.TestEnvPlugin().pytest_runtest_protocol(SimpleNamespace(nodeid=nodeid), None)  # type: ignore[arg-type]
    next(gen)
    seen["during"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    with pytest.raises(StopIteration):
        gen.send(True)


def test_a_gpu_tests_devices_are_set_for_it_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.setattr(worker, "TEST_ENV", {})
    worker.remember({"t": "run", "items": [3, 4], "env": {"m.py::gpu": {"CUDA_VISIBLE_DEVICES": "0,1"}}})
    seen: dict[str, str | None] = {}
    run_protocol("m.py::gpu", seen)
    assert seen["during"] == "0,1"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    run_protocol("m.py::gpu", seen)  # used once: a later run of the same test gets it anew
    assert seen["during"] == "1"


def test_a_variable_the_worker_did_not_have_is_removed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(worker, "TEST_ENV", {"m.py::gpu": {"CUDA_VISIBLE_DEVICES": "0"}})
    seen: dict[str, str | None] = {}
    run_protocol("m.py::gpu", seen)
    assert seen["during"] == "0"
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
