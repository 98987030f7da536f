"""pytest-benchmark: every worker's results reach the controller's table, JSON and gates.

pytest-benchmark keeps its results in ``config._benchmarksession.benchmarks`` of the
process that ran the benchmark, and writes the table, ``--benchmark-json``,
``--benchmark-save`` and the ``--benchmark-compare-fail`` verdict at the end of that
process's session. Under xdist it disables itself with a warning. In a fleet run the
benchmarks run in the workers, which never finish a pytest session; each worker sends its
results back in its ``workeroutput`` (as pytest-benchmark's own JSON form, with every
round's timings) and the controller rebuilds them into its session before the session
ends, so the table, the files and the regression gates see every benchmark of the run.

Limits: timings are taken while other workers run (use ``-w 1`` for quiet numbers), the
``--benchmark-cprofile`` statistics stay in the worker, and a worker that crashes loses
its results, as under xdist.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

KEY = "testfleet_benchmarks"


def session_of(config: pytest.Config) -> Any | None:
    return getattr(config, "_benchmarksession", None)


def collect(config: pytest.Config, output: dict[str, Any]) -> None:
    """In a worker that is about to end: its results, into its workeroutput."""
    bs = session_of(config)
    if bs is None or bs.disabled or not bs.benchmarks:
        return
    from pytest_benchmark.utils import safe_dumps

    output[KEY] = [json.loads(safe_dumps(b.as_dict(include_data=True))) for b in bs.benchmarks if b]


def rebuild(data: dict[str, Any]) -> Any:
    """A pytest_benchmark.stats.Metadata from its JSON form, as the worker measured it."""
    from pytest_benchmark.stats import Metadata

    fixture = SimpleNamespace(
        name=data["name"],
        fullname=data["fullname"],
        group=data.get("group"),
        param=data.get("param"),
        params=data.get("params"),
        extra_info=data.get("extra_info") or {},
        cprofile_stats=None,
        has_error=False,
    )
    stats = data["stats"]
    meta = Metadata(fixture, stats.get("iterations", 1), data.get("options") or {})
    for duration in stats.get("data") or ():
        meta.stats.update(duration)
    return meta


def merge(config: pytest.Config, output: dict[str, Any], order: dict[str, int] | None = None) -> int:
    """In the controller: a worker's results, into the controller's benchmark session, kept
    in collection order (``order``: node id -> index), as a plain run lists them."""
    bs = session_of(config)
    results = output.get(KEY) or []
    if bs is None or not results:
        return 0
    bs.benchmarks.extend(rebuild(d) for d in results)
    if order:
        last = len(order)
        bs.benchmarks.sort(key=lambda b: order.get(b.fullname, last))
    return len(results)
