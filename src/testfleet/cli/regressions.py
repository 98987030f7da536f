"""``testfleet regressions``: tests whose duration stepped up (or down) at some run, found by
change-point detection and confirmed by a rank test (analysis/changepoints.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from testfleet.cli.window import add_window_options

if TYPE_CHECKING:
    from testfleet.analysis.changepoints import Step

DEFAULT_RUNS = 50
LISTED = 30


def register(subparsers: Any) -> None:
    from testfleet.analysis import changepoints as cp

    parser = subparsers.add_parser(
        "regressions", help="tests (and the suite) whose duration changed at some run, and since when"
    )
    add_window_options(parser, DEFAULT_RUNS)
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=cp.DEFAULT_MIN_RATIO,
        metavar="R",
        help=f"report a step of at least R times (default {cp.DEFAULT_MIN_RATIO})",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=cp.DEFAULT_MIN_SECONDS,
        metavar="S",
        help=f"... and at least S seconds (default {cp.DEFAULT_MIN_SECONDS})",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=cp.DEFAULT_ALPHA,
        metavar="P",
        help=f"Mann-Whitney p-value a step must beat (default {cp.DEFAULT_ALPHA})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every step")
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.analysis.changepoints import find_regressions
    from testfleet.cli.window import check_runs, emit_json, line, plural, read_window
    from testfleet.console import abort

    check_runs(ns)
    if ns.min_ratio <= 1.0 or ns.min_seconds < 0 or not 0.0 < ns.alpha < 1.0:
        abort("--min-ratio must be above 1.0, --min-seconds at least 0 and --alpha between 0 and 1", 4)
    window = read_window(ns, spread=(ns.min_seconds, ns.min_ratio))  # the rest cannot step
    found = find_regressions(
        window.runs, window.series, min_ratio=ns.min_ratio, min_seconds=ns.min_seconds, alpha=ns.alpha
    )
    if ns.format == "json":
        emit_json({"runs": len(window.runs), **found.as_dict()})
        return 0
    line(
        f"duration changes over the last {plural(len(window.runs), 'run')}: "
        f"{plural(len(found.regressions), 'slowdown')}, {plural(len(found.improvements), 'speed-up')}"
    )
    for title, steps in (
        ("slower", found.regressions),
        ("faster", found.improvements),
        ("suite total test time", found.suite),
    ):
        if not steps:
            continue
        line()
        line(f"{title} ({len(steps)}):")
        shown = steps if ns.verbose else steps[:LISTED]
        for s in shown:
            line(_step(s))
        if len(shown) < len(steps):
            line(f"  ... {len(steps) - len(shown)} more (-v lists all)")
    return 0


def _step(s: Step) -> str:
    from testfleet.cli import render

    commit = f" ({s.since_commit[:7]})" if s.since_commit else ""
    return (
        f"  {s.nodeid}\n      {render.seconds(s.before_s)} -> {render.seconds(s.after_s)} "
        f"({s.ratio:.2f}x) since run {s.since_run}{commit}, "
        + (f"p={s.p_value:.2g}" if s.p_value > 0 else "p<1e-16")
    )
