"""``testfleet flaky``: each test's probability of failing while healthy, with a credible interval,
the evidence, and a status flaky | broken | healthy (analysis/flaky.py)."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.window import add_window_options

DEFAULT_RUNS = 50
LISTED = 30


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "flaky", help="flaky and broken tests over the last runs, with failure probabilities"
    )
    add_window_options(parser, DEFAULT_RUNS)
    parser.add_argument("--all", action="store_true", help="also list healthy tests")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every test found")
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.analysis.flaky import find_flaky, infrastructure_runs
    from testfleet.cli.window import check_runs, emit_json, line, plural, read_window

    check_runs(ns, 2)
    window = read_window(ns, failing_only=not ns.all)  # a test that never failed is healthy
    found = find_flaky(window.runs, window.series, include_healthy=ns.all)
    infra = sorted(window.runs[k].run_id for k in infrastructure_runs(window.runs))
    if ns.format == "json":
        emit_json(
            {"runs": window.run_ids, "infrastructure_runs": infra, "tests": [f.as_dict() for f in found]}
        )
        return 0
    flaky = [f for f in found if f.status == "flaky"]
    broken = [f for f in found if f.status == "broken"]
    line(
        f"{plural(len(flaky), 'flaky test')}, {plural(len(broken), 'broken test')} "
        f"in the last {plural(len(window.runs), 'run')}"
        + (f" ({plural(len(infra), 'infrastructure run')} left out)" if infra else "")
    )
    shown = found if ns.verbose else found[:LISTED]
    for f in shown:
        lo, hi = f.interval
        evidence = [f"failed {f.failures} of {plural(f.runs, 'run')}"]
        if f.retried:
            evidence.append(f"{f.retried} retried")
        if f.same_commit:
            evidence.append(f"pass+fail on {plural(f.same_commit, 'commit')}")
        evidence.append(plural(f.flips, "flip"))
        head = f"  {f.status:<7} {f.probability:6.1%} [{lo:.1%}, {hi:.1%}]  {f.nodeid}"
        line(head)
        if f.broken_since:
            line(f"          failing in every run since {f.broken_since}")
            line(f"          before: {', '.join(evidence)}")
        else:
            line(f"          {', '.join(evidence)}")
    if len(shown) < len(found):
        line(f"  ... {len(found) - len(shown)} more (-v lists all)")
    return 0
