"""Which GPUs a worker slot sees, and what it advertises.

``shared`` (the default): every slot sees one GPU when the machine has any, round-robin
(slot ``s`` sees GPU ``s mod G``), so a test that uses CUDA when it is available does so
as under plain pytest; a test marked ``requires={"gpu": n}`` may be given any of the
machine's GPUs (the scheduler's reservations, :mod:`testfleet.hardware.pool`, keep two
GPU-marked tests off one GPU). ``exclusive``: slot ``s`` owns the GPUs ``i`` with
``i mod W == s`` and sees only those (none, when there are more slots than GPUs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from testfleet.errors import UsageError
from testfleet.hardware.gpus import Gpu

ISOLATIONS = ("shared", "exclusive")


def parse_isolation(value: str) -> str:
    if value not in ISOLATIONS:
        raise UsageError(f"--gpu-isolation: {value!r} is not one of {', '.join(ISOLATIONS)}")
    return value


def default_gpus(gpus: Sequence[Gpu], slot: int, workers: int, isolation: str) -> list[Gpu]:
    """The GPUs slot ``slot`` of ``workers`` sees when a test does not ask for any."""
    if not gpus:
        return []
    if isolation == "exclusive":
        return [g for i, g in enumerate(gpus) if i % max(1, workers) == slot]
    return [gpus[slot % len(gpus)]]


def usable_gpus(gpus: Sequence[Gpu], slot: int, workers: int, isolation: str) -> list[Gpu]:
    """The GPUs a GPU-marked test on this slot may be given."""
    return default_gpus(gpus, slot, workers, isolation) if isolation == "exclusive" else list(gpus)


def slot_caps(
    gpus: Sequence[Gpu], slot: int, workers: int, isolation: str, host_memory_gb: float
) -> dict[str, Any]:
    """What the slot advertises: ``gpu`` (how many GPUs a test may ask for), ``gpus``
    (index, name, memory), ``gpu_visible`` (indices it sees by default), ``gpu_memory_gb``
    (its largest GPU), ``gpu_isolation``, ``host_memory_gb`` (the reservable memory)."""
    usable = usable_gpus(gpus, slot, workers, isolation)
    caps: dict[str, Any] = {
        "gpu": len(usable),
        "gpus": [g.as_dict() for g in usable],
        "gpu_visible": [g.index for g in default_gpus(gpus, slot, workers, isolation)],
        "gpu_isolation": isolation,
        "host_memory_gb": host_memory_gb,
    }
    sizes = [g.memory_gb for g in usable if g.memory_gb is not None]
    if sizes:
        caps["gpu_memory_gb"] = max(sizes)
    return caps


def slot_env(
    gpus: Sequence[Gpu], slot: int, workers: int, isolation: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """``CUDA_VISIBLE_DEVICES`` for the slot; nothing when the machine has no GPU (the
    user's own setting, if any, stays). Indices are ``nvidia-smi``'s, so CUDA is asked to
    number devices the same way (``CUDA_DEVICE_ORDER=PCI_BUS_ID``) unless the user chose."""
    if not gpus:
        return {}
    env = {
        "CUDA_VISIBLE_DEVICES": ",".join(str(g.index) for g in default_gpus(gpus, slot, workers, isolation))
    }
    if "CUDA_DEVICE_ORDER" not in environ:
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    return env
