"""Durations for sharding: files CI jobs share, and the results store's history.

A durations file is JSON: ``{"format": "testfleet-durations", "version": 1, "durations":
{node id: seconds}}``. pytest-split's ``.test_durations`` (a plain mapping) is read too.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from testfleet.errors import UsageError

FILE_FORMAT = "testfleet-durations"
FILE_VERSION = 1
HISTORY_PER_TEST = 5  # timed attempts per test, newest first, whose median is its duration
HISTORY_RUNS = 20  # stored runs looked at, newest first
TIMED = frozenset({"passed", "failed"})


def write_durations(path: str | os.PathLike[str], durations: Mapping[str, float]) -> None:
    """Write a durations file (JSON, sorted, rounded to the millisecond), atomically."""
    target = Path(path)
    data = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "durations": {k: round(float(durations[k]), 3) for k in sorted(durations)},
    }
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def read_durations(path: str | os.PathLike[str]) -> dict[str, float]:
    """A durations file: testfleet's own, or pytest-split's ``.test_durations`` (a plain
    mapping of node id to seconds). A missing or malformed file is a usage error."""
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"--durations-file: {path} does not exist (write one with `testfleet durations export FILE`)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"--durations-file: cannot read {path}: {exc}") from None
    if isinstance(data, dict) and data.get("format") == FILE_FORMAT:
        data = data.get("durations")
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in data.values()
    ):
        raise UsageError(
            f"--durations-file: {path} is not a durations file (expected JSON mapping "
            "node ids to seconds, as `testfleet durations export` writes)"
        )
    return {str(k): float(v) for k, v in data.items()}


def history_durations(
    store: Any,
    per_test: int = HISTORY_PER_TEST,
    runs: int = HISTORY_RUNS,
    wanted: Collection[str] | None = None,
) -> dict[str, float]:
    """Median of each test's last ``per_test`` timed attempts (passed or failed) in the
    newest ``runs`` runs that are over (a running run, this one included, is left out, so
    every process of a run reads the same durations). With ``wanted``, older runs are not
    read once each wanted test has ``per_test`` samples."""
    samples: dict[str, list[float]] = defaultdict(list)
    for run in store.runs(limit=runs):
        if run.status == "running":
            continue
        for r in store.results(run.run_id):
            if r.outcome in TIMED and len(samples[r.nodeid]) < per_test:
                samples[r.nodeid].append(r.duration)
        if wanted is not None and all(len(samples.get(n, ())) >= per_test for n in wanted):
            break
    return {k: statistics.median(v) for k, v in samples.items() if v}
