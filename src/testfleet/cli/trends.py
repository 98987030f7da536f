"""``testfleet trends [NODEID]``: per run, in order, pass rate, counts, test time, wall time and
flaky count (or one test's outcome and duration per run), with sparklines (analysis/trends.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from testfleet.cli.window import add_window_options

if TYPE_CHECKING:
    from testfleet.cli.window import Window

DEFAULT_RUNS = 30
LISTED = 20
OUTCOME_MARKS = {"passed": ".", "skipped": "s", "xfailed": "x", "xpassed": "X", "not_run": "-"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trends", help="per-run pass rate, counts, test time, wall time, flaky count (or one test's)"
    )
    parser.add_argument("nodeid", nargs="?", metavar="NODEID", help="show this test's history instead")
    add_window_options(parser, DEFAULT_RUNS)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every run, not the last 20")
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.cli.window import check_runs, emit_json, line, read_window

    check_runs(ns)
    window = read_window(
        ns, series=ns.nodeid is not None, nodeids=[ns.nodeid] if ns.nodeid is not None else None
    )
    if ns.nodeid is not None:
        return _node(ns, window)
    from testfleet.analysis.trends import run_trends

    if ns.format == "json":
        emit_json({"runs": run_trends(window.runs)})
        return 0
    if not window.runs:
        line("no runs to show (finished whole-suite runs; --include-partial counts the others)")
        return 0
    _print_runs(window, verbose=ns.verbose)
    return 0


def _print_runs(window: Window, *, verbose: bool) -> None:
    from rich.table import Table

    from testfleet.analysis.trends import metric, sparkline
    from testfleet.cli import render
    from testfleet.cli.window import line, plural
    from testfleet.console import out

    runs = window.runs
    latest = runs[-1]
    line(f"trends over {plural(len(runs), 'run')}, oldest first")

    def row(label: str, name: str, shown: str) -> None:
        line(f"  {label:<10} {sparkline(metric(runs, name)[-50:])}  {shown}")

    rate = latest.pass_rate
    row("pass rate", "pass_rate", "-" if rate is None else f"{rate:.1%}")
    row("tests", "tests", str(latest.tests))
    row("failed", "failed", str(latest.failed))
    row("flaky", "flaky", str(latest.flaky))
    row("test time", "test_seconds", render.seconds(latest.test_seconds))
    row("wall", "wall_seconds", render.seconds(latest.wall_seconds))
    line()
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0))
    for name in ("run", "commit", "tests", "passed", "failed", "flaky", "test time", "wall"):
        table.add_column(name, no_wrap=True, justify="left" if name in ("run", "commit") else "right")
    shown = runs if verbose else runs[-LISTED:]
    for r in shown:
        table.add_row(
            *render.cells(
                r.run_id,
                (r.git_commit or "-")[:7],
                str(r.tests),
                str(r.passed),
                str(r.failed),
                str(r.flaky),
                render.seconds(r.test_seconds),
                render.seconds(r.wall_seconds),
            )
        )
    out().print(table)
    if len(shown) < len(runs):
        line(f"... {len(runs) - len(shown)} earlier runs (-v lists all)")


def _node(ns: argparse.Namespace, window: Window) -> int:
    from testfleet.analysis.trends import node_trend, sparkline
    from testfleet.cli import render
    from testfleet.cli.window import emit_json, line
    from testfleet.console import abort

    if not window.series:
        abort(f"no test {ns.nodeid!r} in the last {ns.runs} runs; `testfleet show` lists a run's tests", 4)
    points = node_trend(window.runs, window.series[0])
    if ns.format == "json":
        emit_json({"nodeid": ns.nodeid, "points": [p.as_dict() for p in points]})
        return 0
    ran = [p for p in points if p.outcome is not None]
    line(f"{ns.nodeid}: in {len(ran)} of the last {len(points)} runs, oldest first")
    line(
        f"  duration  {sparkline([p.seconds if p.outcome == 'passed' else None for p in points][-50:])}"
        f"  {render.seconds(ran[-1].seconds)} latest"
    )
    marks = "".join(" " if p.outcome is None else OUTCOME_MARKS.get(p.outcome, "F") for p in points)
    line(f"  outcomes  {marks[-50:]}  (. passed, F failed, s skipped, blank: not in the run)")
    shown = points if ns.verbose else points[-LISTED:]
    line()
    for p in shown:
        line(
            f"  {p.run_id}  {(p.commit or '-')[:7]:<7}  {p.outcome or '-':<8} {render.seconds(p.seconds):>8}"
        )
    return 0
