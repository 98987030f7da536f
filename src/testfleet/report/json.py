"""``--report-json FILE``: the run as JSON, written even when the run fails or is interrupted.

Schema::

    {"run_id", "exit_code", "collected", "counts": {outcome: n},
     "tests": [{"nodeid", "outcome", "duration", "worker", "attempts", "message", "flaky"}],
     "workers": [{"id", "pid", "peak_rss_kb", "tests", "exit", "start_seconds", "cpu_seconds"}],
     "controller_peak_rss_kb", "controller_cpu_seconds",
     "loop": {"cpu_seconds", "wall_seconds" (the controller's loop, from its first round to
     its last), "passes_batched" (clean passes reported to pytest once per loop round), "rounds" (loop rounds)},
     "replacements": [{"worker", "seconds"}], "collect_seconds" (with --collectors K: until the
     last collector had collected), "collectors", "collection_hash", "wall_seconds",
     "makespan_seconds" (first test start to last test end),
     "phases": {name: seconds since the controller started} (collector_started, collected,
     scheduled, first_worker_ready, loop_end), "executor": what the executor timed (Ray:
     ray_connect, placement, slots, shutdown),
     "store": {"path", "error"}, "lost_nodes": [...],
     "collection": [{"nodeid", "outcome": "skipped"|"error", "message"}]}

``counts`` add up to ``collected``. ``collection`` lists what pytest's summary counts besides
the tests: modules skipped at collection (``importorskip``) and collection errors.
"""

from __future__ import annotations

import json
import os
from typing import Any


def build_report(state: Any) -> dict[str, Any]:
    tests = []
    for idx, info in enumerate(state.items):
        res = state.final.get(idx)
        attempts = len(state.attempts.get(idx, [])) or (1 if res else 0)
        tests.append(
            {
                "nodeid": info["nodeid"],
                "outcome": res.outcome if res else "not_run",
                "duration": round(res.duration, 6) if res else 0.0,
                "worker": res.worker if res else None,
                "attempts": attempts,
                "message": res.message if res else None,
                "flaky": bool(res.flaky) if res else False,
            }
        )
    return {
        "run_id": state.run_id,
        "exit_code": state.exit_code,
        "collected": len(state.items),
        "counts": state.counts(),
        "tests": tests,
        "workers": [
            {
                k: w.get(k)
                for k in ("id", "pid", "peak_rss_kb", "tests", "exit", "start_seconds", "cpu_seconds")
            }
            for w in state.workers.values()
        ],
        "controller_peak_rss_kb": state.controller_peak_rss_kb,
        "controller_cpu_seconds": state.controller_cpu_seconds,
        "loop": dict(getattr(state, "loop_stats", {})),
        "replacements": state.replacements,
        "collect_seconds": round(state.collect_seconds, 4),
        "collectors": state.settings.collectors,
        "collection_hash": state.collection_hash,
        "makespan_seconds": makespan(state),
        "wall_seconds": round(state.wall_seconds(), 4),
        "phases": dict(state.phases),
        "executor": dict(getattr(state, "executor_timings", {})),
        "store": {"error": state.store_error, "enabled": state.settings.db != "none"},
        "lost_nodes": state.lost_workers,
        "collection": list(getattr(state, "collection", [])),
    }


def makespan(state: Any) -> float | None:
    """From the first test's start to the last test's end, over every attempt (seconds)."""
    spans = [
        (a.start, a.start + a.duration)
        for attempts in state.attempts.values()
        for a in attempts
        if a.start is not None and a.outcome != "not_run"
    ]
    if not spans:
        return None
    return float(round(max(e for _, e in spans) - min(s for s, _ in spans), 4))


def write_report(path: str, state: Any) -> None:
    """Write the report next to ``path`` first, then move it into place (readers never see a
    half-written file). A path that cannot be written is a UsageError naming the option; the
    partial file is removed."""
    import tempfile

    from testfleet.errors import UsageError
    from testfleet.options import BY_NAME

    data = build_report(state)
    target = os.path.abspath(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=os.path.basename(target) + ".", suffix=".tmp", dir=os.path.dirname(target)
        )
        os.fchmod(fd, 0o644)
        with open(fd, "w", encoding="utf-8") as fh:
            # json.dumps, not json.dump, and no indent: only then does json use its C encoder
            # (20,000 tests: a few hundredths of a second instead of over a second).
            fh.write(json.dumps(data, separators=(",", ":")) + "\n")
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        flag = BY_NAME["report_json"].spelled_as()
        raise UsageError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None
