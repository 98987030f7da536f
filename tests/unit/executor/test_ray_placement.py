"""Placement maths of the Ray backend, on hand-written nodes: no Ray needed."""

from __future__ import annotations

import pytest

from testfleet.executor.ray_placement import (
    PLAIN,
    TAG_AMOUNT,
    bundle_of,
    custom_resources,
    fits,
    fleet_size,
    plan_slots,
    ray_options,
    requirement_shape,
    shortfall,
    slot_caps,
)
from testfleet.scheduler import protocol

HEAD = {"CPU": 4.0, "memory": 8.0 * 2**30, "object_store_memory": 2.0 * 2**30, "node:10.0.0.1": 1.0}
GPU_BOX = {
    "CPU": 8.0,
    "GPU": 2.0,
    "memory": 64.0 * 2**30,
    "gpu_sim": 1.0,
    "tpu": 4.0,
    "node:10.0.0.2": 1.0,
    "accelerator_type:A100": 1.0,
}


def spec(i: int, requires: dict[str, float] | None = None, tags: set[str] | None = None) -> protocol.TestSpec:
    return protocol.TestSpec(i, f"test_m.py::t{i}", requires=requires or {}, tags=frozenset(tags or ()))


def test_custom_resources_are_the_non_builtin_non_node_names() -> None:
    assert custom_resources([HEAD, GPU_BOX]) == {"gpu_sim", "tpu", "accelerator_type:A100"}
    assert custom_resources([HEAD]) == frozenset()


def test_requirements_map_to_ray_resources() -> None:
    shape = requirement_shape(
        spec(0, {"gpu": 1, "memory_gb": 2, "cpus": 2, "tpu": 4}, {"gpu_sim", "x"}), frozenset({"gpu_sim"})
    )
    # cpus is slots (a scheduler rule), x is no resource of the cluster: neither is reserved.
    assert dict(shape) == {"gpu": 1.0, "memory_gb": 2.0, "tpu": 4.0, "gpu_sim": TAG_AMOUNT}
    assert ray_options(shape) == {
        "num_cpus": 1,
        "num_gpus": 1.0,
        "memory": 2 * 2**30,
        "resources": {"tpu": 4.0, "gpu_sim": TAG_AMOUNT},
    }
    assert bundle_of(shape) == {
        "CPU": 1.0,
        "GPU": 1.0,
        "memory": 2.0 * 2**30,
        "tpu": 4.0,
        "gpu_sim": TAG_AMOUNT,
    }


def test_zero_requirements_and_a_requirement_named_like_a_tag_reserve_what_was_asked() -> None:
    shape = requirement_shape(spec(0, {"gpu": 0, "gpu_sim": 1}, {"gpu_sim"}), frozenset({"gpu_sim"}))
    assert shape == (("gpu_sim", 1.0),)  # the explicit amount wins over the tag's sliver
    assert requirement_shape(spec(1), frozenset({"gpu_sim"})) == PLAIN
    assert ray_options(PLAIN) == {"num_cpus": 1}
    assert bundle_of(PLAIN) == {"CPU": 1.0}


def test_fits_needs_every_resource_of_the_bundle() -> None:
    assert fits({"CPU": 1.0, "GPU": 2.0}, GPU_BOX)
    assert not fits({"CPU": 1.0, "GPU": 3.0}, GPU_BOX)
    assert not fits({"CPU": 1.0, "gpu_sim": TAG_AMOUNT}, HEAD)
    assert fits({}, {})


def test_plan_gives_feasible_requirements_a_slot_first_most_common_first() -> None:
    nodes = [{"CPU": 1.0}, {"CPU": 1.0, "gpu_sim": 1.0}]
    specs = [spec(i) for i in range(5)]
    specs += [spec(5 + i, tags={"gpu_sim"}) for i in range(2)]
    specs += [spec(9, {"gpu": 1})]  # no node has a GPU: no slot for it
    assert plan_slots(specs, 3, nodes) == [(("gpu_sim", TAG_AMOUNT),), PLAIN, PLAIN]
    assert plan_slots(specs[:5], 2, nodes) == [PLAIN, PLAIN]
    three = [spec(20, {"tpu": 1}), spec(21, {"tpu": 1}), spec(22, {"gpu": 2}), spec(23, {"memory_gb": 1})]
    planned = plan_slots(three, 4, [HEAD, GPU_BOX])
    assert planned == [(("tpu", 1.0),), (("gpu", 2.0),), (("memory_gb", 1.0),), PLAIN]


def test_plan_never_has_more_slots_than_workers() -> None:
    specs = [spec(i, {"tpu": float(i + 1)}) for i in range(4)]
    assert plan_slots(specs, 2, [GPU_BOX]) == [(("tpu", 1.0),), (("tpu", 2.0),)]
    assert plan_slots(specs, 0, [GPU_BOX]) == []


@pytest.mark.parametrize(("workers", "given", "cpus", "expected"), [(3, True, 16, 3), (2, False, 16, 16)])
def test_fleet_size_is_w_when_given_else_the_clusters_cpus(
    workers: int, given: bool, cpus: int, expected: int
) -> None:
    assert fleet_size(workers, given, cpus) == expected


def test_shortfall_names_what_was_asked_and_what_the_cluster_has() -> None:
    text = shortfall(
        3, [{"CPU": 1.0, "GPU": 1.0}, {"CPU": 1.0, "GPU": 1.0}, {"CPU": 1.0}], {"CPU": 2.0}, 60.0
    )
    assert text == (
        "--backend ray: the cluster cannot hold 3 workers with these resources within 60s: "
        "2 x {'CPU': 1.0, 'GPU': 1.0}, 1 x {'CPU': 1.0}; the cluster has {'CPU': 2.0}. "
        "Pass fewer workers with -w"
    )


def test_slot_caps_advertise_the_reservation_and_the_nodes_tags() -> None:
    caps = slot_caps({"gpu_sim": TAG_AMOUNT, "tpu": 2.0, "gpu": 1.0}, "n2", "10.0.0.2", GPU_BOX, ["0"])
    assert caps["tags"] == ["gpu_sim", "tpu"]  # accelerator_type:* and node:* are no tags
    assert caps["gpu_sim"] is True and caps["tpu"] == 2.0  # a sliver is the tag, an amount stays
    assert caps["gpu"] == 1 and caps["gpu_ids"] == ["0"] and caps["memory_gb"] == 0.0 and caps["cpus"] == 1
    assert "node:10.0.0.2" not in caps["node_resources"] and caps["node_resources"]["GPU"] == 2.0
    plain = slot_caps({}, "n1", "10.0.0.1", HEAD)
    assert plain["tags"] == [] and plain["gpu"] == 0 and plain["ray_resources"] == {}
