"""Finding the GPUs and the memory of this machine.

``TESTFLEET_FAKE_GPUS`` replaces detection (tests of placement on machines without a GPU):
``N`` fakes N GPUs of 80 GB, ``N:GB`` N GPUs of GB each. ``TESTFLEET_FAKE_MEMORY_GB``
replaces the host's memory. A ``CUDA_VISIBLE_DEVICES`` set where testfleet starts limits
the GPUs it hands out to those listed (by index or UUID); set to ``""`` it means none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from testfleet.errors import UsageError

FAKE_GPU_MEMORY_GB = 80.0


@dataclass(frozen=True)
class Gpu:
    """One physical GPU: its index as ``nvidia-smi`` numbers it, name, memory and UUID."""

    index: int
    name: str
    memory_gb: float | None = None
    uuid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_fake(value: str) -> list[Gpu]:
    """``TESTFLEET_FAKE_GPUS``: ``N`` or ``N:GB``."""
    count, _, mem = value.strip().partition(":")
    try:
        n = int(count)
        memory = float(mem) if mem else FAKE_GPU_MEMORY_GB
    except ValueError:
        raise UsageError(f"TESTFLEET_FAKE_GPUS: {value!r} is not N or N:GB (e.g. 2 or 2:40)") from None
    if n < 0 or memory <= 0:
        raise UsageError(f"TESTFLEET_FAKE_GPUS: {value!r} needs N >= 0 and GB > 0")
    return [Gpu(i, "fake", memory, f"GPU-fake-{i}") for i in range(n)]


def from_nvidia_smi() -> list[Gpu] | None:
    """GPUs ``nvidia-smi`` lists; None when it is not installed or fails."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 4 and parts[0].isdigit():
            try:
                memory: float | None = round(float(parts[2]) / 1024, 1)  # MiB
            except ValueError:
                memory = None
            gpus.append(Gpu(int(parts[0]), parts[1], memory, parts[3] or None))
    return gpus


def from_torch() -> list[Gpu] | None:
    """GPUs PyTorch sees, when it is installed and an NVIDIA driver is present but
    ``nvidia-smi`` is not (some containers).
    ``device_count`` and ``get_device_properties`` do not keep CUDA initialised in this
    process for the forks' sake: they run in a child process."""
    import glob
    import importlib.util
    import json
    import sys

    # Only where an NVIDIA driver is present: importing torch costs seconds on every run.
    if not (glob.glob("/dev/nvidia[0-9]*") or os.path.isdir("/proc/driver/nvidia")):
        return None
    if importlib.util.find_spec("torch") is None:
        return None
    code = (
        "import json, torch\n"
        "n = torch.cuda.device_count() if torch.cuda.is_available() else 0\n"
        "p = [torch.cuda.get_device_properties(i) for i in range(n)]\n"
        "print(json.dumps([[i, x.name, x.total_memory] for i, x in enumerate(p)]))\n"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        rows = json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return [Gpu(int(i), str(name), round(float(mem) / 2**30, 1)) for i, name, mem in rows]


def visible(gpus: list[Gpu], cuda_visible: str | None) -> list[Gpu]:
    """The GPUs a ``CUDA_VISIBLE_DEVICES`` value leaves (all of them when it is unset)."""
    if cuda_visible is None:
        return gpus
    wanted = [w.strip() for w in cuda_visible.split(",") if w.strip()]
    out = []
    for w in wanted:
        for g in gpus:
            if ((w.isdigit() and int(w) == g.index) or (g.uuid and w == g.uuid)) and g not in out:
                out.append(g)
    return out


def detect(environ: dict[str, str] | None = None) -> list[Gpu]:
    """This machine's GPUs that testfleet may hand out (see the module docstring)."""
    env = os.environ if environ is None else environ
    fake = env.get("TESTFLEET_FAKE_GPUS")
    if fake is not None and fake.strip():
        gpus = parse_fake(fake)
    else:
        found = from_nvidia_smi()
        if found is None:
            found = from_torch()
        gpus = found or []
    return visible(gpus, env.get("CUDA_VISIBLE_DEVICES"))


def host_memory_gb(environ: dict[str, str] | None = None) -> float:
    """The host's memory in GB (``TESTFLEET_FAKE_MEMORY_GB`` if set)."""
    env = os.environ if environ is None else environ
    fake = env.get("TESTFLEET_FAKE_MEMORY_GB")
    if fake is not None and fake.strip():
        try:
            value = float(fake)
        except ValueError:
            raise UsageError(f"TESTFLEET_FAKE_MEMORY_GB: {fake!r} is not a number of GB") from None
        if value <= 0:
            raise UsageError(f"TESTFLEET_FAKE_MEMORY_GB: {fake!r} must be greater than 0")
        return value
    try:
        return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 2)
    except (ValueError, OSError, AttributeError):
        return 0.0
