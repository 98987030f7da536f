"""This machine as the controller hands it to local worker slots: GPUs and memory."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from testfleet.hardware import slots
from testfleet.hardware.gpus import Gpu, detect, host_memory_gb

# The slot's capabilities, from the controller to its worker, which advertises them in
# ``hello`` (so the stored capabilities hold the GPUs; testfleet.worker.probe reads it).
SLOT_CAPS_ENV = "TESTFLEET_SLOT_CAPS"


class Machine:
    """The GPUs and memory of this host, and what each of ``workers`` slots gets of them."""

    def __init__(
        self,
        gpus: list[Gpu],
        memory_gb: float,
        workers: int,
        isolation: str = "shared",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.gpus = gpus
        self.memory_gb = memory_gb
        self.workers = workers
        self.isolation = slots.parse_isolation(isolation)
        self.environ = os.environ if environ is None else environ

    @classmethod
    def detect(cls, workers: int, isolation: str = "shared") -> Machine:
        return cls(detect(), host_memory_gb(), workers, isolation)

    def default_indices(self, slot: int) -> list[int]:
        return [g.index for g in slots.default_gpus(self.gpus, slot, self.workers, self.isolation)]

    def slot_caps(self, slot: int) -> dict[str, Any]:
        return slots.slot_caps(self.gpus, slot, self.workers, self.isolation, self.memory_gb)

    def slot_env(self, slot: int) -> dict[str, str]:
        env = slots.slot_env(self.gpus, slot, self.workers, self.isolation, self.environ)
        env[SLOT_CAPS_ENV] = json.dumps(self.slot_caps(slot), separators=(",", ":"))
        return env


def slot_caps_from_env(environ: MutableMapping[str, str]) -> dict[str, Any]:
    """In a worker: the capabilities its controller gave its slot (removed from the
    environment, so tests that start testfleet themselves do not inherit them)."""
    text = environ.pop(SLOT_CAPS_ENV, None)
    if not text:
        return {}
    try:
        caps = json.loads(text)
    except ValueError:
        return {}
    return caps if isinstance(caps, dict) else {}
