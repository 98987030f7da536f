"""Formatting helpers shared by the CLI, the HTML report and the terminal display (pure
functions, standard library only): timestamps, durations, counts by outcome, sizes, worker
capabilities."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from testfleet.model import OUTCOME_ORDER


def timestamp(epoch: float | None, *, seconds: bool = True) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(epoch))


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.2f}s" if value < 10 else f"{value:.1f}s"
    minutes, secs = divmod(int(round(value)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def counts(values: Mapping[str, int]) -> str:
    """``"3 passed, 1 failed"`` in the usual outcome order; ``"-"`` when empty."""
    order = {name: i for i, name in enumerate(OUTCOME_ORDER)}
    parts = [
        f"{n} {name}"
        for name, n in sorted(values.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        if n
    ]
    return ", ".join(parts) or "-"


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def capability(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and "mem" in key.lower():
        return size(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


def capabilities(caps: Mapping[str, Any]) -> str:
    """``"cpus=8 memory=15.5 GiB python=3.11.7"`` sorted by key; ``"-"`` when empty."""
    return " ".join(f"{k}={capability(k, v)}" for k, v in sorted(caps.items())) or "-"
