"""One typed settings object for a fleet run.

Precedence: command-line flag > ``TESTFLEET_*`` environment variable > ``[tool.testfleet]``
in pyproject.toml > default. Every bad value raises :class:`UsageError` naming the option,
the value and what is accepted.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testfleet.errors import UsageError

ORDERS = ("duration", "collection", "failed-first", "random")
STARTS = ("fork", "spawn")
BACKENDS = ("local", "ray")


@dataclass
class Settings:
    workers: int = 2
    workers_given: bool = False  # False: the default; the Ray backend then uses the cluster's CPUs
    timeout: float | None = None
    report_json: str | None = None
    db: str | None = None  # None: default file; "none": do not store
    start: str = "fork"
    retries: int = 0
    backend: str = "local"
    ray_address: str | None = None
    order: str = "duration"
    seed: int | None = None
    deadline: float | None = None
    tags: list[str] = field(default_factory=list)
    allow_unschedulable: bool = False
    resume: str | None = None  # run id, or "last"
    port_base: int = 40000
    port_count: int = 50
    ray_exclude: list[str] = field(default_factory=list)
    ray_ship: bool = True
    worker_tags: dict[str, list[str]] = field(default_factory=dict)  # slot -> tags, from pyproject
    gc_freeze: bool = True  # collector: no cyclic GC while collecting, collected objects frozen before the fork
    ci: str = "auto"  # failure annotations: auto (from the environment), github, azure, none
    gpu_isolation: str = "shared"  # shared: every slot sees a GPU; exclusive: each slot its own (docs/hardware.md)


def parse_workers(value: str | int) -> int:
    text = str(value).strip()
    if text == "auto":
        return max(1, os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--workers: {value!r} is not a positive whole number or 'auto'")
    return int(text)


def parse_seconds(option: str, value: str | float | None) -> float | None:
    if value is None:
        return None
    try:
        secs = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: {value!r} is not a number of seconds") from None
    if secs <= 0:
        raise UsageError(f"{option}: {value!r} must be greater than 0")
    return secs


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(option: str, value: str | None) -> float | None:
    """'90', '90s', '10m', '1h30m' -> seconds."""
    if value is None:
        return None
    m = _DURATION.match(str(value))
    if not str(value).strip() or not m or not any(m.groups()):
        raise UsageError(f"{option}: {value!r} is not a duration (examples: 90s, 10m, 1h30m)")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    secs = h * 3600 + mi * 60 + s
    if secs <= 0:
        raise UsageError(f"{option}: {value!r} must be longer than 0")
    return secs


def parse_order(value: str) -> tuple[str, int | None]:
    name, _, seed = value.partition(":")
    if name not in ORDERS or (seed and name != "random"):
        raise UsageError(f"--order: {value!r} is not one of collection, duration, failed-first, random[:seed]")
    if seed and not seed.isdigit():
        raise UsageError(f"--order: seed {seed!r} is not a whole number")
    return name, int(seed) if seed else None


def parse_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(choices)}")
    return value


def parse_flag(name: str, value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise UsageError(f"{name}: {value!r} is not a yes/no value (1/0, true/false)")


def parse_int(option: str, value: Any, minimum: int = 0) -> int:
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or int(text) < minimum:
        raise UsageError(f"{option}: {value!r} is not a whole number >= {minimum}")
    return int(text)


def pyproject_settings(rootdir: Path) -> dict[str, Any]:
    path = rootdir / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read [tool.testfleet]: {exc}") from None
    section = data.get("tool", {}).get("testfleet", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.testfleet] must be a table")
    return section


def build(options: dict[str, Any], rootdir: Path) -> Settings:
    """Merge flags (``options``: None means not given), env vars and pyproject into Settings."""
    file_cfg = pyproject_settings(rootdir)
    known = set(Settings.__dataclass_fields__) | {"order"}
    unknown = sorted(set(file_cfg) - known)
    if unknown:
        raise UsageError(f"[tool.testfleet]: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")

    def pick(name: str) -> Any:
        if options.get(name) is not None:
            return options[name]
        env = os.environ.get(f"TESTFLEET_{name.upper()}")
        if env is not None and env != "":
            return env
        return file_cfg.get(name)

    s = Settings()
    if (v := pick("workers")) is not None:
        s.workers = parse_workers(v)
        s.workers_given = True
    s.timeout = parse_seconds("--timeout", pick("timeout"))
    s.report_json = pick("report_json")
    s.db = pick("db")
    if (v := pick("start")) is not None:
        s.start = parse_choice("--start", str(v), STARTS)
    if (v := pick("retries")) is not None:
        s.retries = parse_int("--retries", v)
    if (v := pick("backend")) is not None:
        s.backend = parse_choice("--backend", str(v), BACKENDS)
    s.ray_address = pick("ray_address")
    if (v := pick("ci")) is not None:
        from testfleet.report.ci import CI_CHOICES

        s.ci = parse_choice("--ci", str(v), CI_CHOICES)
    if (v := pick("order")) is not None:
        s.order, s.seed = parse_order(str(v))
    s.deadline = parse_duration("--deadline", pick("deadline"))
    if (v := pick("gpu_isolation")) is not None:
        from testfleet.hardware.slots import parse_isolation

        s.gpu_isolation = parse_isolation(str(v))
    tags = options.get("tags") or file_cfg.get("tags") or []
    env_tags = os.environ.get("TESTFLEET_TAGS")
    if not options.get("tags") and env_tags:
        tags = [t for t in env_tags.split(",") if t]
    s.tags = [str(t) for t in tags]
    s.allow_unschedulable = parse_flag("allow_unschedulable", pick("allow_unschedulable"))
    if (v := pick("gc_freeze")) is not None:
        s.gc_freeze = parse_flag("gc_freeze", v)
    s.resume = options.get("resume")
    if (v := pick("port_base")) is not None:
        s.port_base = parse_int("--port-base", v, minimum=1024)
    if (v := pick("port_count")) is not None:
        s.port_count = parse_int("--port-count", v, minimum=1)
    s.ray_exclude = list(options.get("ray_exclude") or file_cfg.get("ray_exclude") or [])
    if options.get("ray_no_ship"):
        s.ray_ship = False
    wt = file_cfg.get("worker_tags", {})
    if not isinstance(wt, dict) or not all(isinstance(v, list) for v in wt.values()):
        raise UsageError("[tool.testfleet] worker_tags must map a worker number to a list of tags, "
                         "e.g. worker_tags = {0 = [\"browser\"]}")
    s.worker_tags = {str(k): [str(t) for t in v] for k, v in wt.items()}
    if s.port_base + s.workers * s.port_count > 65535:
        raise UsageError(
            f"--port-base {s.port_base} with {s.workers} workers x {s.port_count} ports goes past port 65535")
    return s
