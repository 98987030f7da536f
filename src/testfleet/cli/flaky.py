"""``testfleet flaky``: tests whose verdict changes while the code does not (analysis/flaky.py)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from testfleet.cli.storeopts import add_db_option

if TYPE_CHECKING:
    from testfleet.model import RunInfo, TestResult
    from testfleet.store import Store

DEFAULT_RUNS = 20
LISTED = 30


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "flaky", help="flaky tests over the last runs: retried flakes, flips, same-commit flips")
    add_db_option(parser)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, metavar="N",
                        help=f"how many of the latest runs to look at (default {DEFAULT_RUNS})")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every flaky test")
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.analysis.flaky import find_flaky
    from testfleet.cli.storeopts import read_store
    from testfleet.console import abort, out

    if ns.runs < 2:
        abort(f"--runs {ns.runs}: flakiness needs at least 2 runs", 4)

    def fetch(store: Store) -> tuple[list[RunInfo], dict[str, list[TestResult]]]:
        runs = store.runs(limit=ns.runs)
        return runs, {r.run_id: store.results(r.run_id) for r in runs}

    runs, results = read_store(ns, fetch)
    flaky = find_flaky(runs, results)
    console = out()

    def line(text: str = "") -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    if ns.format == "json":
        line(json.dumps({"runs": [r.run_id for r in runs], "flaky": [f.as_dict() for f in flaky]}, indent=1))
        return 0
    line(f"{len(flaky)} flaky test{'s' if len(flaky) != 1 else ''} in the last {len(runs)} runs")
    shown = flaky if ns.verbose else flaky[:LISTED]
    for f in shown:
        evidence = [f"{f.passes} passed / {f.failures} failed", f"{f.flips} flips"]
        if f.same_commit_flips:
            evidence.append(f"{f.same_commit_flips} on the same commit")
        if f.retried:
            evidence.append(f"passed on a retry in {f.retried} run{'s' if f.retried != 1 else ''}")
        line(f"  {f.nodeid}: {', '.join(evidence)}; last {f.last_outcome}")
        if f.last_failure:
            line(f"      last failure: {f.last_failure}")
    if len(shown) < len(flaky):
        line(f"  ... {len(flaky) - len(shown)} more (-v lists all)")
    return 0
