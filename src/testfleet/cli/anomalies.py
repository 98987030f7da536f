"""``testfleet anomalies [RUN]``: tests of one run (default: the latest) whose duration is far from
their own history, and long-passing tests that failed (analysis/anomalies.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from testfleet.cli.window import add_window_options

if TYPE_CHECKING:
    from testfleet.store import Store
    from testfleet.store.history import TestSeries

DEFAULT_RUNS = 30


def register(subparsers: Any) -> None:
    from testfleet.analysis import anomalies as an

    parser = subparsers.add_parser(
        "anomalies", help="tests of a run far from their own history (duration, outcome)"
    )
    parser.add_argument(
        "run", nargs="?", metavar="RUN", help="run id or a unique prefix of one (default: the latest run)"
    )
    add_window_options(parser, DEFAULT_RUNS)
    parser.add_argument(
        "--z",
        type=float,
        default=an.DEFAULT_Z,
        metavar="Z",
        help=f"robust z-score a duration must reach (default {an.DEFAULT_Z})",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=an.DEFAULT_MIN_SECONDS,
        metavar="S",
        help=f"... and seconds away from the median (default {an.DEFAULT_MIN_SECONDS})",
    )
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.analysis.anomalies import find_anomalies
    from testfleet.analysis.flaky import infrastructure_runs
    from testfleet.cli import render
    from testfleet.cli.storeopts import read_store, resolve_run
    from testfleet.cli.window import check_runs, emit_json, line, plural
    from testfleet.console import abort

    check_runs(ns)
    if ns.z <= 0 or ns.min_seconds < 0:
        abort("--z must be above 0 and --min-seconds at least 0", 4)

    def fetch(store: Store) -> tuple[list[str], set[int], list[TestSeries]]:
        target = resolve_run(store, ns.run, ns)
        history = store.run_stats(limit=ns.runs, include_partial=ns.include_partial, before=target.start)
        ids = [r.run_id for r in history] + [target.run_id]
        return ids, infrastructure_runs(history), store.test_series(ids)

    ids, infra, series = read_store(ns, fetch)
    found = find_anomalies(ids, series, len(ids) - 1, z=ns.z, min_seconds=ns.min_seconds, skip=infra)
    if ns.format == "json":
        emit_json({"history": len(ids) - 1, **found.as_dict()})
        return 0
    line(f"run {found.run_id} against the {plural(len(ids) - 1, 'run')} before it:")
    line(
        f"  {plural(len(found.durations), 'duration anomaly', 'duration anomalies')}, "
        f"{plural(len(found.outcomes), 'outcome anomaly', 'outcome anomalies')}"
    )
    if found.durations:
        line()
        line("durations far from their history:")
        for a in found.durations:
            line(
                f"  {a.nodeid}: {render.seconds(a.seconds)}, usually {render.seconds(a.median_s)} "
                f"(z={a.z:+.1f})"
            )
    if found.outcomes:
        line()
        line("long-passing tests that failed:")
        for o in found.outcomes:
            line(f"  {o.outcome.upper()} {o.nodeid} after {plural(o.passed_before, 'passing run')}")
    return 0
