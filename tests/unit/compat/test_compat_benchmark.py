from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from testfleet.compat import benchmark


def measured(name: str, rounds: list[float]) -> dict[str, Any]:
    """A result in pytest-benchmark's JSON form, as a worker sends it."""
    return {
        "group": None,
        "name": name,
        "fullname": f"test_b.py::{name}",
        "params": None,
        "param": None,
        "extra_info": {"n": 3},
        "options": {"timer": "perf_counter", "min_rounds": 3},
        "stats": {"data": rounds, "iterations": 2, "rounds": len(rounds)},
    }


def test_a_rebuilt_result_has_the_workers_statistics() -> None:
    pytest.importorskip("pytest_benchmark", reason="pytest-benchmark is not installed (plugins venv)")
    meta = benchmark.rebuild(measured("test_x", [0.5, 0.25, 0.75]))
    assert (meta.name, meta.fullname, meta.iterations, meta.extra_info) == (
        "test_x",
        "test_b.py::test_x",
        2,
        {"n": 3},
    )
    assert (meta.stats.min, meta.stats.max, meta.stats.mean, meta.stats.rounds) == (0.25, 0.75, 0.5, 3)
    flat = meta.as_dict(include_data=True)
    assert flat["stats"]["data"] == [0.5, 0.25, 0.75] and flat["options"]["timer"] == "perf_counter"


def test_merge_keeps_collection_order_and_ignores_other_output() -> None:
    pytest.importorskip("pytest_benchmark", reason="pytest-benchmark is not installed (plugins venv)")
    session = SimpleNamespace(benchmarks=[], disabled=False)
    config: Any = SimpleNamespace(_benchmarksession=session)
    order = {"test_b.py::test_a": 0, "test_b.py::test_b": 1, "test_b.py::test_c": 2}
    assert benchmark.merge(config, {benchmark.KEY: [measured("test_c", [1.0])]}, order) == 1
    assert (
        benchmark.merge(
            config, {benchmark.KEY: [measured("test_a", [1.0]), measured("test_b", [1.0])]}, order
        )
        == 2
    )
    assert benchmark.merge(config, {"other_plugin": 1}, order) == 0
    assert [b.name for b in session.benchmarks] == ["test_a", "test_b", "test_c"]


def test_no_benchmark_session_no_merge() -> None:
    assert benchmark.merge(SimpleNamespace(), {benchmark.KEY: [measured("t", [1.0])]}) == 0  # type: ignore[arg-type]
