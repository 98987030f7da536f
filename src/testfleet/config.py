"""One typed settings object for a fleet run.

Precedence: command-line flag > ``TESTFLEET_*`` environment variable > ``[tool.testfleet]``
in pyproject.toml > default. Every bad value raises :class:`UsageError` naming the option,
the value and what is accepted.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testfleet.errors import UsageError
from testfleet.options import BY_NAME, OPTIONS, Option, label, pyproject_keys

ORDERS = ("duration", "collection", "failed-first", "random")
STARTS = BY_NAME["start"].choices
BACKENDS = BY_NAME["backend"].choices


@dataclass
class Settings:
    workers: int = 2
    workers_given: bool = False  # False: the default; the Ray backend then uses the cluster's CPUs
    collectors: int = 1  # --collectors: processes that collect (a share of the files each)
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
    gc_freeze: bool = (
        True  # collector: no cyclic GC while collecting, collected objects frozen before the fork
    )
    ci: str = "auto"  # failure annotations: auto (from the environment), github, azure, none
    shard: str | None = None  # "I/K": run shard I of K (testfleet.shard)
    durations_file: str | None = None  # durations to shard by, instead of the store's history
    dashboard: tuple[str, int] | None = None  # live dashboard (host, port; port 0: a free one)
    dashboard_token: str | None = None  # required when the dashboard binds another address
    progress_interval: float = 10.0  # seconds between "N/M done" lines when stdout is not a terminal
    gpu_isolation: str = (
        "shared"  # shared: every slot sees a GPU; exclusive: each slot its own (docs/hardware.md)
    )


def parse_workers(value: str | int, option: str = "--workers") -> int:
    text = str(value).strip()
    if text == "auto":
        return max(1, os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{option}: {str(value)!r} is not a positive whole number or 'auto'")
    return int(text)


def parse_collectors(value: str | int, option: str = "--collectors") -> int:
    """A positive whole number, or ``auto`` (0 here; resolved by :func:`resolve_collectors`)."""
    text = str(value).strip()
    if text == "auto":
        return 0
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{option}: {str(value)!r} is not a positive whole number or 'auto'")
    return int(text)


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_threads(workers: int) -> int:
    """Threads for numeric libraries in each of ``workers`` local workers: the usable CPUs
    shared out, at least 1 (executor/local.py THREAD_VARS)."""
    return max(1, usable_cpus() // max(1, workers))


def resolve_collectors(s: Settings, name: str) -> int:
    """How many collectors the run has. ``auto``: one per worker, at most the usable CPUs
    (the number of test files caps it again once they are known: a collector with no files
    gets no workers); 1 with the Ray backend or ``--start spawn``, where more are a usage
    error. Never more than the workers: each collector needs one."""
    if s.backend != "local" or s.start != "fork":
        if s.collectors > 1:
            where = "--backend ray" if s.backend != "local" else "--start spawn"
            raise UsageError(
                f"{name}: more than one collector needs the local backend with fork start, not {where}"
            )
        return 1
    if s.collectors == 0:
        return max(1, min(s.workers, usable_cpus()))
    return min(s.collectors, s.workers)


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


def parse_order(value: str, option: str = "--order") -> tuple[str, int | None]:
    name, _, seed = value.partition(":")
    if name not in ORDERS or (seed and name != "random"):
        raise UsageError(
            f"{option}: {value!r} is not one of collection, duration, failed-first, random[:seed]"
        )
    if seed and not seed.isdigit():
        raise UsageError(f"{option}: seed {seed!r} is not a whole number")
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
        raise UsageError(f"{option}: {str(value)!r} is not a whole number >= {minimum}")
    return int(text)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_dashboard(option: str, value: Any) -> tuple[str, int] | None:
    """``PORT``, ``HOST:PORT``, ``0``/``auto``/true (a free port) or false -> (host, port) or None."""
    if value is None or value is False:
        return None
    if value is True:
        return ("127.0.0.1", 0)
    text = str(value).strip()
    if text.lower() in ("false", "no", "off"):
        return None
    host, sep, port = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    host = host.strip("[]") or "127.0.0.1"
    if port.lower() in ("", "auto", "true", "yes", "on"):
        port = "0"
    if not port.isdigit() or int(port) > 65535:
        raise UsageError(f"{option}: {value!r} is not a port ([HOST:]PORT, 0 or auto for a free port)")
    return host, int(port)


def parse_output_file(option: str, value: Any) -> str | None:
    """A file testfleet will write: its directory exists and is writable, and it is not a
    directory itself. Checked before the run starts, so a typo costs no run."""
    if value is None:
        return None
    text = str(value)
    path = Path(text).expanduser()
    if not text.strip():
        raise UsageError(f"{option}: an empty path; give the file to write")
    if path.is_dir():
        raise UsageError(f"{option}: {text} is a directory; give a file path, e.g. {path / 'report.json'}")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{option}: cannot write {text}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option}: cannot write {text}: permission denied")
    return text


def parse_list(option: str, value: Any) -> list[str]:
    """A list option: a list (pyproject), or a comma-separated string (environment, or a
    single string in pyproject: ``tags = "browser"`` is one tag)."""
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(t, (str, int)) for t in value):
        return [str(t) for t in value]
    raise UsageError(f'{option}: {value!r} is not a list of names (e.g. ["browser", "gpu"])')


# parse kind (options.Option.parse) -> check. Each takes (the name the user typed, value).
PARSERS: dict[str, Callable[[str, Any, Option], Any]] = {
    "text": lambda name, v, o: str(v),
    "workers": lambda name, v, o: parse_workers(v, name),
    "collectors": lambda name, v, o: parse_collectors(v, name),
    "seconds": lambda name, v, o: parse_seconds(name, v),
    "duration": lambda name, v, o: parse_duration(name, str(v)),
    "choice": lambda name, v, o: parse_choice(name, str(v), o.choices),
    "int": lambda name, v, o: parse_int(name, v, minimum=o.minimum),
    "flag": lambda name, v, o: parse_flag(name, v),
    "order": lambda name, v, o: parse_order(str(v), name),
    "output_file": lambda name, v, o: parse_output_file(name, v),
    "shard": lambda name, v, o: parse_shard_option(name, v),
    "durations_file": lambda name, v, o: parse_durations_file(name, v),
    "dashboard": lambda name, v, o: parse_dashboard(name, v),
    "gpu_isolation": lambda name, v, o: parse_gpu_isolation(name, v),
}


def parse_gpu_isolation(option: str, value: Any) -> str:
    from testfleet.hardware.slots import ISOLATIONS

    return parse_choice(option, str(value), tuple(ISOLATIONS))


def parse_shard_option(option: str, value: Any) -> str:
    from testfleet.shard import parse_shard

    try:
        return str(parse_shard(str(value)))
    except UsageError as exc:
        raise UsageError(str(exc).replace("--shard", option, 1)) from None


def parse_durations_file(option: str, value: Any) -> str:
    from testfleet.shard.durations import read_durations

    read_durations(str(value))  # a missing or malformed file is a usage error now, not in the collector
    return str(value)


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


def _given(o: Option, options: dict[str, Any], file_cfg: dict[str, Any]) -> tuple[Any, str] | None:
    """The value of ``o`` and where it came from (flag > env > pyproject), or None."""
    if options.get(o.name) is not None:
        return options[o.name], "flag"
    if o.env:
        env = os.environ.get(o.env_var)
        if env is not None and env != "":
            return env, "env"
    if o.pyproject and file_cfg.get(o.name) is not None:
        return file_cfg[o.name], "pyproject"
    return None


def build(options: dict[str, Any], rootdir: Path) -> Settings:
    """Merge flags (``options``: None means not given), env vars and pyproject into Settings.

    Every option comes from the table in ``testfleet.options``; a bad value is a UsageError
    naming what the user typed (``-w``, ``TESTFLEET_WORKERS`` or ``[tool.testfleet] workers``).
    """
    file_cfg = pyproject_settings(rootdir)
    known = pyproject_keys()
    unknown = sorted(set(file_cfg) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(
            f"[tool.testfleet]: unknown key {unknown[0]!r}{hint}; known keys: {', '.join(known)}"
        )

    s = Settings()
    collectors_name = "--collectors"
    for o in OPTIONS:
        found = _given(o, options, file_cfg)
        if found is None:
            continue
        value, source = found
        name = label(o, source)
        if o.kind == "list":
            parsed: Any = parse_list(name, value)
        elif o.kind == "flag" and source == "flag":
            parsed = bool(value)
        else:
            parsed = PARSERS[o.parse](name, value, o)
        if o.name == "workers":
            s.workers_given = True
        elif o.name == "collectors":
            collectors_name = name
        elif o.name == "order":
            parsed, s.seed = parsed
        elif o.name == "ray_no_ship":
            s.ray_ship = not parsed
            continue
        setattr(s, o.name, parsed)
    wt = file_cfg.get("worker_tags", {})
    if not isinstance(wt, dict) or not all(isinstance(v, list) for v in wt.values()):
        raise UsageError(
            "[tool.testfleet] worker_tags must map a worker number to a list of tags, "
            'e.g. worker_tags = {0 = ["browser"]}'
        )
    s.worker_tags = {str(k): [str(t) for t in v] for k, v in wt.items()}
    s.collectors = resolve_collectors(s, collectors_name)
    if s.port_base + s.workers * s.port_count > 65535:
        raise UsageError(
            f"port_base {s.port_base} with {s.workers} workers x {s.port_count} ports goes past port 65535"
        )
    return s
