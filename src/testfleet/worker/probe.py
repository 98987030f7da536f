"""What a worker can do: detected hardware plus user tags (advertised in ``hello``)."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from typing import Any


def memory_gb() -> float:
    from testfleet.hardware.gpus import host_memory_gb

    try:
        return host_memory_gb()
    except Exception:  # noqa: BLE001 - a bad TESTFLEET_FAKE_MEMORY_GB is the controller's to report
        return 0.0


def detect_gpus() -> list[dict[str, Any]]:
    """GPUs reported by ``nvidia-smi`` (empty when there is none or it fails)."""
    from testfleet.hardware.gpus import from_nvidia_smi

    return [g.as_dict() for g in from_nvidia_smi() or []]


def capabilities() -> dict[str, Any]:
    from testfleet.hardware.machine import slot_caps_from_env

    caps: dict[str, Any] = {
        "cpus": os.cpu_count() or 1,
        "memory_gb": memory_gb(),
        "platform": sys.platform,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "host": platform.node(),
    }
    if shutil.which(os.environ.get("TESTFLEET_MPIRUN", "mpirun")):
        caps["mpirun"] = True
    gpus = os.environ.get("TESTFLEET_GPUS")
    if gpus is not None:
        caps["gpus"] = [{"index": int(g)} for g in gpus.split(",") if g.strip()]
    tags = os.environ.get("TESTFLEET_TAGS")
    if tags and os.environ.get("TESTFLEET_WORKER"):
        caps["tags"] = sorted(t for t in tags.split(",") if t)
    caps.update(slot_caps_from_env(os.environ))
    return caps
