"""Test time per file, for the file split of ``--collectors K`` (:mod:`testfleet.split`).

A run with several collectors and a results store writes, when it ends and ran its whole
selection of tests, the seconds each file's tests took to ``<store>.files.json`` beside the
store (files it did not run keep their earlier time). The next run's collectors read it
before they collect, and split the files by time instead of bytes, so the groups balance
*test time*. A small JSON file rather than the store: every collector reads it at start-up,
and ``testfleet run`` starts them before the controller has opened the store.

Every collector must read the same times: a run that rewrites the file while another run's
collectors start makes them disagree, which the controller detects (the split digest) and
stops that run with a message.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterable
from pathlib import Path

FORMAT = "testfleet-file-times"


def weights_path(db: str | None, invocation_dir: str | os.PathLike[str], rootdir: Path) -> Path | None:
    """Where the file times of this store are (None with ``--db none``)."""
    if db is not None and db.lower() == "none":
        return None
    from testfleet.store import default_path

    store = default_path(rootdir) if db is None else Path(invocation_dir, db)
    return store.with_name(store.name + ".files.json")


def read_weights(path: Path | None) -> dict[str, float]:
    """File (relative to the rootdir, ``/``-separated) -> seconds; {} when there is none."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        return {}
    return {
        str(k): float(v)
        for k, v in data["files"].items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
    }


def file_times(results: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Seconds per file from (node id, duration) of a run's tests."""
    out: dict[str, float] = {}
    for nodeid, duration in results:
        name = nodeid.partition("::")[0]
        out[name] = out.get(name, 0.0) + max(0.0, float(duration))
    return out


def update_weights(path: Path, times: dict[str, float]) -> None:
    """Merge ``times`` into the file (atomically replaced)."""
    merged = read_weights(path)
    merged.update(times)
    data = {"format": FORMAT, "files": {k: round(merged[k], 4) for k in sorted(merged)}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class FileWeights:
    """A file's weight for the split: its time when the times know it, else (some files
    known) the median known time, else (none known) its size in bytes."""

    def __init__(self, times: dict[str, float], rootdir: Path) -> None:
        self.times = times
        self.rootdir = rootdir
        self.default = statistics.median(times.values()) if times else 0.0

    def __call__(self, path: Path) -> float:
        if not self.times:
            try:
                return float(path.stat().st_size)
            except OSError:
                return 0.0
        try:
            rel = path.relative_to(self.rootdir).as_posix()
        except ValueError:
            return self.default
        return self.times.get(rel, self.default)
