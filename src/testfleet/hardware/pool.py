"""The scheduler's reservation book for GPUs and host memory (pure logic, no I/O).

A test marked ``requires={"gpu": n}`` holds n whole GPUs, ``{"gpu": 0.5}`` half of one,
``{"gpu_memory_gb": 40}`` 40 GB of one GPU's memory (and the same fraction of the GPU), and
``{"memory_gb": 20}`` 20 GB of its host's memory, from when the scheduler hands it out
until its attempt ends. A test is handed out only when what it needs is free: two tests
never hold more than a GPU (share 1.0), a GPU's memory, or a host's memory between them.

Reservations apply to workers that advertise the pool (local slots, see
:func:`testfleet.hardware.slots.slot_caps`: ``gpu_isolation``, ``host_memory_gb``). On Ray
the actors hold GPUs and memory themselves, and this book stays out of the way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EPS = 1e-9


@dataclass(frozen=True)
class GpuNeed:
    """What a test asks of GPUs: ``count`` devices, ``share`` of each (0: by memory), and
    ``memory_gb`` on each."""

    count: int
    share: float
    memory_gb: float


def gpu_need(requires: Mapping[str, float]) -> GpuNeed | None:
    gpu = float(requires.get("gpu", 0.0))
    memory = float(requires.get("gpu_memory_gb", 0.0))
    if gpu <= 0 and memory <= 0:
        return None
    if gpu >= 1:
        return GpuNeed(int(gpu), 1.0, memory)
    return GpuNeed(1, gpu, memory)


@dataclass(frozen=True)
class Held:
    """What one handed-out test holds."""

    host: str
    gpus: tuple[tuple[int, float, float], ...] = ()  # (index, share, memory_gb)
    memory_gb: float = 0.0


def needs_reservation(requires: Mapping[str, float]) -> bool:
    return bool(requires.get("memory_gb") or gpu_need(requires))


class Reservations:
    """GPU shares and memory, and host memory, held by handed-out tests.

    Attributes: ``share`` and ``gpu_memory`` ((host, GPU index) -> amount held),
    ``host_memory`` (host -> GB held), ``held`` (test index -> :class:`Held`).
    """

    def __init__(self) -> None:
        self.share: dict[tuple[str, int], float] = defaultdict(float)
        self.gpu_memory: dict[tuple[str, int], float] = defaultdict(float)
        self.host_memory: dict[str, float] = defaultdict(float)
        self.held: dict[int, Held] = {}

    def place(self, requires: Mapping[str, float], caps: Mapping[str, Any]) -> Held | None:
        """What a test with ``requires`` would hold on a worker with ``caps``; None when it
        does not fit now."""
        host = str(caps.get("host", ""))
        memory = float(requires.get("memory_gb", 0.0))
        if memory and "host_memory_gb" in caps:
            if self.host_memory[host] + memory > float(caps["host_memory_gb"]) + EPS:
                return None
        else:
            memory = 0.0
        need = gpu_need(requires)
        if need is None or "gpu_isolation" not in caps:
            return Held(host, (), memory)
        home = set(caps.get("gpu_visible") or [])
        choices = []
        for g in caps.get("gpus") or []:
            key = (host, int(g["index"]))
            total = g.get("memory_gb")
            share = need.share or (need.memory_gb / total if total else 1.0)
            if self.share[key] + share > 1.0 + EPS:
                continue
            if need.memory_gb and (total is None or self.gpu_memory[key] + need.memory_gb > total + EPS):
                continue
            free = (total or 0.0) - self.gpu_memory[key]
            # The slot's own GPU first (a process that initialised CUDA keeps its devices),
            # then the least shared, then the most free memory.
            choices.append(
                ((key[1] not in home, self.share[key], -free, key[1]), (key[1], share, need.memory_gb))
            )
        if len(choices) < need.count:
            return None
        choices.sort()
        picked = tuple(sorted((c[1] for c in choices[: need.count]), key=lambda x: x[0]))
        return Held(host, picked, memory)

    def hold(self, index: int, held: Held) -> None:
        self.release(index)
        self.held[index] = held
        for gpu, share, memory in held.gpus:
            self.share[(held.host, gpu)] += share
            self.gpu_memory[(held.host, gpu)] += memory
        self.host_memory[held.host] += held.memory_gb

    def release(self, index: int) -> None:
        held = self.held.pop(index, None)
        if held is None:
            return
        for gpu, share, memory in held.gpus:
            self.share[(held.host, gpu)] -= share
            self.gpu_memory[(held.host, gpu)] -= memory
        self.host_memory[held.host] -= held.memory_gb

    def env(self, index: int) -> dict[str, str] | None:
        """The environment a held test runs with: exactly its GPUs."""
        held = self.held.get(index)
        if held is None or not held.gpus:
            return None
        return {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g, _, _ in held.gpus)}


def run_env(
    scheduler: Any, items: list[dict[str, Any]], indices: list[int]
) -> dict[str, dict[str, str]] | None:
    """For a ``run`` message: node id -> environment, for the tests among ``indices`` that
    hold GPUs (None when none does; the common case costs one attribute lookup)."""
    book = getattr(scheduler, "reservations", None)
    if book is None or not book.held:
        return None
    env = {items[i]["nodeid"]: e for i in indices if (e := book.env(i))}
    return env or None
