"""``testfleet workers [RUN]``: the workers of a run and the capabilities they advertised."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.storeopts import add_db_option
from testfleet.cli.window import add_format_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("workers", help="list the workers of a run and their capabilities")
    parser.add_argument("run", nargs="?", metavar="RUN",
                        help="run id or a unique prefix of one (default: the latest run)")
    add_db_option(parser)
    add_format_option(parser)
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from rich.table import Table

    from testfleet.cli import render
    from testfleet.cli.storeopts import read_run
    from testfleet.console import out
    from testfleet.hardware import show

    info, workers = read_run(ns, lambda store, run: store.workers(run.run_id))
    if ns.format == "json":
        from dataclasses import asdict

        from testfleet.cli.window import emit_json

        emit_json({"run_id": info.run_id, "workers": [asdict(w) for w in workers]})
        return 0
    if not workers:
        out().print(f"run {info.run_id} recorded no workers", markup=False)
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False, title_justify="left",
                  title=f"workers of run {info.run_id}")
    # At 80 columns: long host names and Ray node ids fold within their own cells; the
    # capabilities wrap between "key=value" items, never one character per line.
    table.add_column("worker", no_wrap=True)
    table.add_column("host", overflow="fold", max_width=20)
    table.add_column("node", overflow="fold", max_width=16)
    table.add_column("pid", justify="right", no_wrap=True)
    table.add_column("gpus", overflow="fold")
    table.add_column("tags", overflow="fold")
    table.add_column("capabilities", overflow="fold", ratio=1)
    for w in workers:
        table.add_row(*render.cells(w.worker_id, w.host or "-", w.node or "-",
                                    "-" if w.pid is None else str(w.pid),
                                    show.gpus_cell(w.capabilities), show.tags_cell(w.capabilities) or "-",
                                    render.capabilities(show.other_caps(w.capabilities))))
    out().print(table)
    return 0
