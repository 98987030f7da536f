"""Short texts for a worker's hardware in tables (``testfleet workers``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Capabilities shown in their own columns (or implied by them), not again in the rest.
SHOWN_APART = frozenset(
    {
        "gpu",
        "gpus",
        "gpu_visible",
        "gpu_isolation",
        "gpu_memory_gb",
        "gpu_ids",
        "tags",
        "host",
        "host_memory_gb",
        "collection_errors",
    }
)


def gpu_text(gpu: Mapping[str, Any]) -> str:
    """``0:H200 141G``: index, name without the vendor, memory."""
    name = str(gpu.get("name", "")).removeprefix("NVIDIA ").replace(" ", "-")
    mem = gpu.get("memory_gb")
    text = f"{gpu.get('index', '?')}:{name}" if name else str(gpu.get("index", "?"))
    return f"{text} {mem:g}G" if isinstance(mem, int | float) else text


def gpus_cell(caps: Mapping[str, Any]) -> str:
    """The GPUs a worker sees by default; ``+N`` more a marked test may be given."""
    gpus = [g for g in caps.get("gpus") or [] if isinstance(g, Mapping)]
    visible = caps.get("gpu_visible")
    # No gpu_visible: a Ray actor or an older run, whose every listed GPU is its own.
    seen = gpus if visible is None else [g for g in gpus if g.get("index") in visible]
    if not seen and caps.get("gpu_ids"):
        return ",".join(str(i) for i in caps["gpu_ids"])
    text = ", ".join(gpu_text(g) for g in seen) or "-"
    extra = len(gpus) - len(seen)
    return f"{text} +{extra}" if extra > 0 and seen else text


def tags_cell(caps: Mapping[str, Any]) -> str:
    tags = caps.get("tags") or []
    return ",".join(str(t) for t in tags) if isinstance(tags, list | tuple) else str(tags)


def other_caps(caps: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in caps.items() if k not in SHOWN_APART}
