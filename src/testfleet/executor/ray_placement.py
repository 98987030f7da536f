"""Placement maths of the Ray backend: pure functions, no Ray, no I/O.

A test's requirements (the ``fleet`` marker's ``requires`` and ``tags``) become the
reservation of a worker slot:

- ``gpu`` -> ``num_gpus``, ``memory_gb`` -> ``memory`` (bytes), any other number -> the
  custom resource of that name;
- a tag that is a custom resource of some node -> a sliver (:data:`TAG_AMOUNT`) of it: a tag
  is a capability, not a quantity, so any number of slots fit on a node that has it;
- ``cpus=k`` is not a reservation: it is k worker slots at once, a scheduler rule.

:func:`plan_slots` gives each distinct requirement set some node can meet one slot (most
common first), and the other slots one CPU. Nodes are described as Ray describes them
(``{"CPU": 4.0, "GPU": 1.0, "memory": ..., "gpu_sim": 1.0, "node:10.0.0.7": 1.0}``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testfleet.scheduler.protocol import TestSpec

TAG_AMOUNT = 0.01
# Resources every Ray node has; the others are the cluster's custom resources (tags).
BUILTIN = frozenset({"CPU", "GPU", "memory", "object_store_memory"})

# A slot's reservation in testfleet's names, sorted: (("gpu", 1.0), ("memory_gb", 2.0)).
Shape = tuple[tuple[str, float], ...]
PLAIN: Shape = ()


def custom_resources(nodes: Sequence[Mapping[str, float]]) -> frozenset[str]:
    """The custom resource names of the cluster (what a tag may name)."""
    return frozenset(k for n in nodes for k in n if k not in BUILTIN and not k.startswith("node:"))


def requirement_shape(spec: TestSpec, custom: frozenset[str]) -> Shape:
    """A test's requirements as testfleet-named reservations (see :func:`ray_options`)."""
    want: dict[str, float] = {}
    for name, amount in spec.requires.items():
        if name in ("cpus", "mpi") or amount <= 0:
            continue  # cpus=k (and mpi=N) is k worker slots, handled by the scheduler
        want[name] = float(amount)
    for tag in spec.tags:
        if tag in custom and tag not in want:
            want[tag] = TAG_AMOUNT
    return tuple(sorted(want.items()))


def ray_options(shape: Shape) -> dict[str, Any]:
    """testfleet reservations -> an actor's ``num_cpus``/``num_gpus``/``memory``/``resources``."""
    opts: dict[str, Any] = {"num_cpus": 1}
    resources: dict[str, float] = {}
    for name, amount in shape:
        if name == "gpu":
            opts["num_gpus"] = amount
        elif name == "memory_gb":
            opts["memory"] = int(amount * 2**30)
        else:
            resources[name] = amount
    if resources:
        opts["resources"] = resources
    return opts


def bundle_of(shape: Shape) -> dict[str, float]:
    """The placement-group bundle of a slot (Ray's resource names)."""
    opts = ray_options(shape)
    bundle: dict[str, float] = {"CPU": float(opts["num_cpus"])}
    if "num_gpus" in opts:
        bundle["GPU"] = float(opts["num_gpus"])
    if "memory" in opts:
        bundle["memory"] = float(opts["memory"])
    bundle.update(opts.get("resources", {}))
    return bundle


def fits(bundle: Mapping[str, float], resources: Mapping[str, float]) -> bool:
    """Whether ``resources`` (a node's, or what the cluster has free) hold ``bundle``."""
    return all(resources.get(k, 0.0) >= v for k, v in bundle.items())


def plan_slots(specs: Sequence[TestSpec], workers: int, nodes: Sequence[Mapping[str, float]]) -> list[Shape]:
    """One shape per worker slot: each distinct requirement some node can meet, most common
    first (at most one slot each), then plain one-CPU slots."""
    custom = custom_resources(nodes)
    counts = Counter(requirement_shape(s, custom) for s in specs)
    counts.pop(PLAIN, None)
    slots: list[Shape] = []
    for shape, _n in counts.most_common():
        if len(slots) >= workers:
            break
        if any(fits(bundle_of(shape), n) for n in nodes):
            slots.append(shape)
    while len(slots) < workers:
        slots.append(PLAIN)
    return slots


def fleet_size(workers: int, workers_given: bool, cluster_cpus: int) -> int:
    """How many worker slots a Ray run has: ``-w`` when given, else one per CPU of the cluster."""
    return workers if workers_given else cluster_cpus


def shortfall(
    workers: int, bundles: Sequence[Mapping[str, float]], cluster: Mapping[str, float], timeout: float
) -> str:
    """The message when the cluster cannot hold the planned slots."""
    want = Counter(tuple(sorted(b.items())) for b in bundles)
    asked = ", ".join(f"{n} x {dict(b)}" for b, n in want.items())
    return (
        f"--backend ray: the cluster cannot hold {workers} workers with these resources within "
        f"{timeout:g}s: {asked}; the cluster has {dict(cluster)}. Pass fewer workers with -w"
    )


def slot_caps(
    reserved: Mapping[str, float],
    node_id: str,
    node_ip: str,
    node_resources: Mapping[str, float],
    gpu_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The capabilities of a worker slot: what its actor reserved (``gpu``, ``memory_gb``,
    custom amounts) and, as tags, the custom resources of its node."""
    resources = {k: v for k, v in node_resources.items() if not k.startswith("node:")}
    tags = sorted(k for k in resources if k not in BUILTIN and not k.startswith("accelerator_type:"))
    caps: dict[str, Any] = {
        "node": node_id,
        "node_ip": node_ip,
        "node_resources": resources,
        "ray_resources": dict(reserved),
        "tags": tags,
        "gpu": len(gpu_ids) if gpu_ids else reserved.get("gpu", 0),
        "gpu_ids": list(gpu_ids or []),
        "memory_gb": reserved.get("memory_gb", 0.0),
        "cpus": 1,
    }
    for tag in tags:
        caps[tag] = True
    for name, amount in reserved.items():
        # A sliver of a tag's resource (TAG_AMOUNT) is the tag, not a quantity.
        if name not in ("gpu", "memory_gb") and not (name in tags and amount < 1):
            caps[name] = amount
    return caps
