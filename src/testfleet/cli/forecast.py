"""``testfleet forecast``: the next runs' total test time, wall time or failures, with 80% and
95% prediction intervals (analysis/forecast.py)."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.window import add_window_options

DEFAULT_RUNS = 100


def register(subparsers: Any) -> None:
    from testfleet.analysis import forecast as fc

    parser = subparsers.add_parser(
        "forecast", help="forecast total test time, wall time or failures with prediction intervals"
    )
    add_window_options(parser, DEFAULT_RUNS)
    parser.add_argument(
        "--metric",
        choices=fc.METRICS,
        default="total-duration",
        help="what to forecast (default total-duration: the sum of test durations)",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=fc.DEFAULT_HORIZON,
        metavar="K",
        help=f"how many runs ahead (default {fc.DEFAULT_HORIZON})",
    )
    parser.add_argument(
        "--method",
        choices=fc.METHODS,
        default="auto",
        help="ets (exponential smoothing with a damped trend), linear (least "
        "squares on the last 20 runs), or auto (default: ets from 10 runs on)",
    )
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.analysis.forecast import MIN_POINTS, forecast, metric_values
    from testfleet.cli import render
    from testfleet.cli.window import check_runs, emit_json, line, read_window
    from testfleet.console import abort

    check_runs(ns, MIN_POINTS)
    if ns.horizon < 1:
        abort(f"--horizon {ns.horizon}: give a number of runs of at least 1", 4)
    window = read_window(ns, series=False)
    values = metric_values(window.runs, ns.metric)
    try:
        result = forecast(values, ns.horizon, metric=ns.metric, method=ns.method)
    except ValueError as exc:
        abort(f"cannot forecast {ns.metric}: {exc}", 1)
    if ns.format == "json":
        emit_json(result.as_dict())
        return 0

    def fmt(v: float) -> str:
        return f"{v:.1f}" if ns.metric == "failures" else render.seconds(v)

    line(f"{ns.metric} forecast from {result.history} runs ({result.method}); latest {fmt(values[-1])}")
    line(f"  {'step':>4}  {'forecast':>9}  {'80% interval':>21}  {'95% interval':>21}")
    for p in result.points:
        line(
            f"  {p.step:>4}  {fmt(p.mean):>9}  {fmt(p.lo80):>9} - {fmt(p.hi80):<9}  "
            f"{fmt(p.lo95):>9} - {fmt(p.hi95):<9}"
        )
    return 0
