"""Results from workers on the Ray path (TCP, planned slots) are batched as local ones are.

A real controller runs against fake workers that answer instantly (benchmarks/controller_only.py):
once the first results are in, the controller sends work in batches of up to MAX_DEPTH tests,
the same whether its workers come over TCP after a plan (the Ray executor's path) or over
AF_UNIX (the local executor's)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, object]]:
    sys.path.insert(0, str(BENCH))
    try:
        import controller_only
    finally:
        sys.path.remove(str(BENCH))
    # Seconds when it works; a fake fleet out of step with the controller's protocol makes
    # both wait for each other: fail then, instead of hanging.
    return {
        like: controller_only.run_once(4, 3000, like, sys.executable, timeout=120)
        for like in ("ray", "local")
    }


@pytest.mark.parametrize("like", ["ray", "local"])
def test_every_test_is_settled_once_through_the_controller(
    runs: dict[str, dict[str, object]], like: str
) -> None:
    run = runs[like]
    assert run["exit"] == 0 and run["counts"] == {"passed": 3000}
    fleet = run["fleet"]
    assert isinstance(fleet, dict) and fleet["workers"] == 4
    # Each test handed out once, but for those a worker gave back for an idle one to take.
    assert fleet["distinct"] == 3000 and fleet["run_items"] - fleet.get("returned", 0) == 3000


def test_ray_path_workers_get_work_in_the_same_batches_as_local_ones(
    runs: dict[str, dict[str, object]],
) -> None:
    per_message = {like: float(run["items_per_run_message"]) for like, run in runs.items()}  # type: ignore[arg-type]
    # Unbatched dispatch would be ~1-2 items per message (one per result).
    assert per_message["ray"] >= 16 and per_message["local"] >= 16, per_message
    assert 0.75 <= per_message["ray"] / per_message["local"] <= 1.33, per_message
