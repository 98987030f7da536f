"""What makes a collector unsafe to fork, and how a spawned worker's collection errors read."""

from __future__ import annotations

from types import SimpleNamespace

from testfleet.hardware.forksafety import error_line, fork_hazard, spawn_mismatch


def torch_with(initialised: bool) -> SimpleNamespace:
    return SimpleNamespace(cuda=SimpleNamespace(is_initialized=lambda: initialised))


def test_torch_with_cuda_initialised_is_a_hazard_naming_start_spawn() -> None:
    why = fork_hazard({"torch": torch_with(True)})
    assert why is not None
    assert why.startswith("the collection initialised CUDA (torch.cuda.is_initialized() is true)")
    assert "run with --start spawn" in why


def test_torch_imported_but_cuda_untouched_is_fine() -> None:
    assert fork_hazard({"torch": torch_with(False)}) is None
    assert fork_hazard({}) is None


def test_a_broken_module_is_no_reason_to_stop() -> None:
    def boom() -> bool:
        raise RuntimeError("half imported")

    assert fork_hazard({"torch": SimpleNamespace(cuda=SimpleNamespace(is_initialized=boom))}) is None


def test_other_runtimes() -> None:
    assert "JAX" in (
        fork_hazard({"jax": object(), "jax._src.xla_bridge": SimpleNamespace(_backends={"gpu": 1})}) or ""
    )
    assert fork_hazard({"jax": object(), "jax._src.xla_bridge": SimpleNamespace(_backends={})}) is None
    assert "pycuda" in (fork_hazard({"pycuda.autoinit": object()}) or "")


def test_collection_error_line_is_the_exception() -> None:
    text = (
        "ImportError while importing test module '/x/test_m.py'.\nTraceback:\n  ...\n"
        "test_m.py:3: in <module>\n    raise RuntimeError('no GPU')\nE   RuntimeError: no GPU\n"
    )
    assert error_line(text) == "RuntimeError: no GPU"
    assert error_line("just one line") == "just one line"


def test_spawn_mismatch_names_the_workers_collection_error() -> None:
    assert spawn_mismatch("w1", {"collection_errors": ["test_m.py: RuntimeError: no GPU", "b.py: E"]}) == (
        "worker w1 could not collect what the collector did: test_m.py: RuntimeError: no GPU (and 1 more); "
        "with --start spawn each worker imports the suite itself, in its own environment"
    )
    assert spawn_mismatch("w1", {}).startswith(
        "worker w1 collected a different set of tests than the collector"
    )
