"""What a worker can do: detected hardware plus user tags (advertised in ``hello``)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from typing import Any


def memory_gb() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 2)
    except (ValueError, OSError, AttributeError):
        return 0.0


def detect_gpus() -> list[dict[str, Any]]:
    """GPUs reported by ``nvidia-smi`` (empty when there is none or it fails)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 4:
            gpus.append({"index": int(parts[0]), "name": parts[1],
                         "memory_mb": float(parts[2]) if parts[2].replace(".", "").isdigit() else None,
                         "uuid": parts[3]})
    return gpus


def capabilities() -> dict[str, Any]:
    caps: dict[str, Any] = {
        "cpus": os.cpu_count() or 1,
        "memory_gb": memory_gb(),
        "platform": sys.platform,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "host": platform.node(),
    }
    gpus = os.environ.get("TESTFLEET_GPUS")
    if gpus is not None:
        caps["gpus"] = [{"index": int(g)} for g in gpus.split(",") if g.strip()]
    return caps
