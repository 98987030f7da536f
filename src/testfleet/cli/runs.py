"""``testfleet runs``: the table of past runs, newest first."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.storeopts import add_db_option
from testfleet.cli.window import add_format_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runs", help="list past runs stored in the results file")
    add_db_option(parser)
    parser.add_argument("--limit", "--runs", dest="limit", type=int, default=20, metavar="N",
                        help="show the N most recent runs (default: 20)")
    add_format_option(parser)
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    import time

    from rich.table import Table

    from testfleet.cli import render
    from testfleet.cli.storeopts import db_path, read_store
    from testfleet.console import abort, out

    if ns.limit < 1:
        abort(f"--limit must be a positive number of runs, got {ns.limit}", 4)
    runs = read_store(ns, lambda store: store.runs(limit=ns.limit))
    if ns.format == "json":
        from dataclasses import asdict

        from testfleet.cli.window import emit_json

        emit_json({"runs": [asdict(r) for r in runs]})
        return 0
    if not runs:
        out().print(f"no runs recorded in {db_path(ns.db)}", markup=False)
        return 0
    # Fits 80 columns: only the outcomes column (last) wraps.
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("run", no_wrap=True, min_width=12)
    table.add_column("started", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("tests", justify="right", no_wrap=True)
    table.add_column("exit", justify="right", no_wrap=True)
    table.add_column("commit", no_wrap=True)
    table.add_column("outcomes", min_width=10)
    now = time.time()
    for r in runs:
        took = render.seconds((r.end if r.end is not None else now) - r.start)
        table.add_row(*render.cells(
            r.run_id, render.timestamp(r.start, seconds=False), took, r.status,
            str(r.collected), "-" if r.exit_code is None else str(r.exit_code),
            (r.git_commit or "-")[:7], ("partial: " if r.partial else "") + render.counts(r.counts)))
    out().print(table)
    return 0
