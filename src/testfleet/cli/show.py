"""``testfleet show [RUN]``: one run in detail (default: the latest)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from testfleet.cli.storeopts import add_db_option
from testfleet.cli.window import add_format_option

if TYPE_CHECKING:
    from testfleet.analysis.clusters import Cluster
    from testfleet.model import RunInfo, TestResult
    from testfleet.store import Store

SLOWEST = 10
CLUSTER_MEMBERS = 3
DEFAULT_RUNS = 20  # earlier runs whose failures make a cluster "seen before"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("show", help="show one run: outcomes, failures, flaky and slowest tests")
    parser.add_argument(
        "run", nargs="?", metavar="RUN", help="run id or a unique prefix of one (default: the latest run)"
    )
    add_db_option(parser)
    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        metavar="N",
        help="a failure cluster is new when none of the N runs before this one had "
        f"it (default {DEFAULT_RUNS})",
    )
    add_format_option(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print the full failure text of each failure"
    )
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.cli.storeopts import read_run
    from testfleet.console import abort

    if ns.runs < 0:
        abort(f"--runs {ns.runs}: give a number of runs, 0 or more", 4)

    def fetch(store: Store, run: RunInfo) -> tuple[list[TestResult], list[tuple[str, str | None]]]:
        earlier = store.run_stats(limit=ns.runs, include_partial=True, before=run.start) if ns.runs else []
        return store.results(run.run_id), store.failure_messages([r.run_id for r in earlier])

    info, (results, earlier) = read_run(ns, fetch)
    from testfleet.analysis.clusters import cluster_failures, new_cluster_ids

    clusters = cluster_failures(r for r in results if r.final)
    new = new_cluster_ids(clusters, earlier)
    if ns.format == "json":
        _print_json(info, results, clusters, new)
    else:
        _print_run(info, results, new, verbose=ns.verbose)
    return 0


def _print_json(info: RunInfo, results: list[TestResult], clusters: list[Cluster], new: set[str]) -> None:
    from dataclasses import asdict

    from testfleet.cli.window import emit_json
    from testfleet.model import FAILURE_VALUES

    final = [r for r in results if r.final]
    emit_json(
        {
            "run": asdict(info),
            "failures": [
                {"nodeid": r.nodeid, "outcome": r.outcome, "message": r.message}
                for r in sorted(final, key=lambda r: r.nodeid)
                if r.outcome in FAILURE_VALUES
            ],
            "clusters": [
                {
                    "id": c.id,
                    "signature": c.signature,
                    "new": c.id in new,
                    "nodeids": list(c.nodeids),
                    "outcomes": list(c.outcomes),
                }
                for c in clusters
            ],
            "flaky": sorted(r.nodeid for r in final if r.flaky),
            "slowest": [
                {"nodeid": r.nodeid, "seconds": round(r.duration, 6), "worker": r.worker}
                for r in sorted(final, key=lambda r: r.duration, reverse=True)[:SLOWEST]
            ],
        }
    )


def _print_run(info: RunInfo, results: list[TestResult], new: set[str], *, verbose: bool) -> None:
    import shlex
    import time

    from rich.table import Table

    from testfleet.analysis.clusters import cluster_failures
    from testfleet.cli import render
    from testfleet.console import out
    from testfleet.model import FAILURE_VALUES, outcome_counts

    console = out()

    def line(text: str = "") -> None:
        console.print(text, markup=False, highlight=False)

    end = info.end if info.end is not None else time.time()
    exit_code = "" if info.exit_code is None else f", exit code {info.exit_code}"
    line(f"run {info.run_id}: {info.status}{exit_code}")
    line(
        f"  started {render.timestamp(info.start)}, took {render.seconds(end - info.start)}"
        f", on {info.host or '?'} (pid {info.pid or '?'}), {info.workers} workers ({info.backend})"
    )
    if info.git_commit or info.git_branch:
        line(f"  git {info.git_commit or '?'}" + (f" ({info.git_branch})" if info.git_branch else ""))
    if info.args:
        line(f"  args: {shlex.join(info.args)}")
    if info.parent_run:
        line(f"  continues run {info.parent_run}")
    if info.partial:
        line("  partial run (part of the suite): left out of history statistics")
    final = [r for r in results if r.final]
    counts = info.counts or outcome_counts(results)
    line(f"outcomes: {render.counts(counts)} ({info.collected} collected)")

    failures = [r for r in final if r.outcome in FAILURE_VALUES]
    if failures:
        line()
        line(f"failures ({len(failures)}):")
        for r in sorted(failures, key=lambda r: r.nodeid):
            message = f" - {r.message}" if r.message else ""
            line(f"  {r.outcome.upper()} {r.nodeid}{message}")
            if verbose and r.failure_text:
                for text_line in r.failure_text.splitlines():
                    line(f"      {text_line}")
    clusters = cluster_failures(final)
    if clusters:
        line()
        fresh = sum(c.id in new for c in clusters)
        line(f"failure clusters ({len(clusters)}, {fresh} new): failures that look like one problem")
        for c in clusters:
            mark = "new " if c.id in new else ""
            line(f"  {len(c.nodeids)}x {c.signature} ({', '.join(c.outcomes)}) [{mark}{c.id}]")
            for nodeid in c.nodeids[:CLUSTER_MEMBERS]:
                line(f"      {nodeid}")
            if len(c.nodeids) > CLUSTER_MEMBERS:
                line(f"      ... {len(c.nodeids) - CLUSTER_MEMBERS} more")
    flaky = sorted((r for r in final if r.flaky), key=lambda r: r.nodeid)
    if flaky:
        line()
        line(f"flaky ({len(flaky)}):")
        for r in flaky:
            line(f"  {r.nodeid} ({r.outcome} on attempt {r.attempt})")
    slowest = sorted(final, key=lambda r: r.duration, reverse=True)[:SLOWEST]
    if slowest:
        line()
        line(f"slowest {len(slowest)}:")
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1, 0, 2))
        table.add_column("duration", justify="right", no_wrap=True)
        table.add_column("test", overflow="fold")
        table.add_column("worker", no_wrap=True)
        for r in slowest:
            table.add_row(*render.cells(render.seconds(r.duration), r.nodeid, r.worker or "-"))
        console.print(table)
