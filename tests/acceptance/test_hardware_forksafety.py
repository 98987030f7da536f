"""Fork safety: a collection that initialised CUDA stops a fork-mode run with a one-line
error naming --start spawn; in spawn mode a worker's own collection errors are shown.

No real PyTorch here: the suite carries a small ``torch`` module whose ``zeros(...,
device="cuda")`` marks CUDA initialised, as the real one does."""

from __future__ import annotations

from typing import Any

import pytest

FAKE_TORCH = """
class _Cuda:
    initialized = False
    def is_initialized(self):
        return self.initialized
    def is_available(self):
        return True
cuda = _Cuda()
def zeros(n, device="cpu"):
    if device == "cuda":
        cuda.initialized = True
    return [0] * n
"""

CUDA_AT_IMPORT = """
import torch
_W = torch.zeros(4, device="cuda")
def test_uses_the_module_tensor():
    assert len(_W) == 4
def test_plain():
    pass
"""


@pytest.fixture(autouse=True)
def no_inherited_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CUDA_VISIBLE_DEVICES", "TESTFLEET_FAKE_GPUS", "TESTFLEET_START"):
        monkeypatch.delenv(name, raising=False)


def test_cuda_initialised_at_collection_stops_a_fork_run_naming_start_spawn(fleet: Any) -> None:
    fleet.write("torch.py", FAKE_TORCH)
    fleet.write("test_cuda_import.py", CUDA_AT_IMPORT)
    run = fleet.run("-w", "2", "--db", "none", report=False)
    assert run.code == 4, run.out + run.err
    text = run.out + run.err
    errors = [line for line in text.splitlines() if "--start spawn" in line]
    assert len(errors) == 1, text
    assert "the collection initialised CUDA (torch.cuda.is_initialized() is true)" in errors[0]
    assert "Traceback" not in text


def test_the_same_suite_passes_with_start_spawn(fleet: Any) -> None:
    fleet.write("torch.py", FAKE_TORCH)
    fleet.write("test_cuda_import.py", CUDA_AT_IMPORT)
    run = fleet.run("-w", "2", "--db", "none", "--start", "spawn")
    assert run.code == 0, run.out + run.err
    assert run.report["counts"] == {"passed": 2}


def test_spawned_worker_collection_errors_are_shown_as_such(fleet: Any) -> None:
    fleet.write(
        "test_needs_gpu_at_import.py",
        """
import os
if os.environ.get("TESTFLEET_WORKER"):  # only the workers: the collector imports it fine
    raise RuntimeError("CUDA unavailable in this worker")
def test_a():
    pass
""",
    )
    fleet.write("test_fine.py", "def test_b():\n    pass\n")
    run = fleet.run("-w", "1", "--db", "none", "--start", "spawn")
    text = run.out + run.err
    assert run.code == 3, text
    assert (
        "worker w0 could not collect what the collector did: test_needs_gpu_at_import.py: "
        "RuntimeError: CUDA unavailable in this worker"
    ) in text
    assert "collected a different set of tests" not in text
