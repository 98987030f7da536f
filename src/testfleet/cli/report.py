"""``testfleet report [RUN] -o FILE``: one stored run as a self-contained HTML page."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.storeopts import add_db_option

DEFAULT_OUTPUT = "testfleet-report.html"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="write one run as a self-contained HTML page")
    parser.add_argument(
        "run", nargs="?", metavar="RUN", help="run id or a unique prefix of one (default: the latest run)"
    )
    add_db_option(parser)
    parser.add_argument(
        "-o",
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="FILE",
        help=f"where to write the page (default: {DEFAULT_OUTPUT})",
    )
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from testfleet.cli.storeopts import read_run
    from testfleet.config import parse_output_file
    from testfleet.console import abort, out
    from testfleet.report.html import render

    parse_output_file("-o", ns.output)  # before reading the store: a typo costs nothing
    info, (results, workers) = read_run(
        ns, lambda store, r: (store.results(r.run_id), store.workers(r.run_id))
    )
    page = render(info, results, workers, _history(ns, info.start))
    target = Path(ns.output)
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        abort(f"-o {target}: cannot write the report: {exc.strerror or exc}", 4)
    out().print(
        f"wrote {target} (run {info.run_id}, {sum(1 for r in results if r.final)} tests)",
        markup=False,
        highlight=False,
    )
    return 0


def _history(ns: argparse.Namespace, until: float) -> list[Any]:
    """The trend points of the store's runs up to ``until`` (none when it cannot be read)."""
    from testfleet.cli.storeopts import db_path
    from testfleet.dashboard.history import HistoryReader, trends
    from testfleet.errors import StoreError

    try:
        reader = HistoryReader(db_path(ns.db))
    except StoreError:
        return []
    try:
        with reader.session() as conn:
            return trends(conn, until=until)
    except StoreError:
        return []
    finally:
        reader.close()
