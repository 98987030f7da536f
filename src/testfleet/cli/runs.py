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
    console = out()
    now = time.time()
    year = time.strftime("%Y", time.localtime(now))
    rows = []
    for r in runs:
        started = render.timestamp(r.start, seconds=False)
        rows.append({
            "run": r.run_id, "started": started[5:] if started.startswith(year) else started,
            "took": render.seconds((r.end if r.end is not None else now) - r.start), "status": r.status,
            "tests": str(r.collected), "exit": "-" if r.exit_code is None else str(r.exit_code),
            "commit": (r.git_commit or "-")[:7],
            "outcomes": ("partial: " if r.partial else "") + render.counts(r.counts)})
    console.print(runs_table(rows, console.width))
    return 0


# Columns in the order shown; the optional ones are left out, last first, when the terminal is
# too narrow for the rest and an outcomes column of OUTCOMES_MIN characters.
COLUMNS = ("run", "started", "took", "status", "tests", "exit", "commit", "outcomes")
OPTIONAL = ("commit", "exit")
RIGHT = ("took", "tests", "exit")
OUTCOMES_MIN = 12


def runs_table(rows: list[dict[str, str]], width: int) -> Any:
    """The runs table within ``width`` columns: every column but outcomes keeps its cells on
    one line; outcomes wraps between outcomes (``3 passed,`` / ``1 failed``), never inside one."""
    from rich.table import Table
    from rich.text import Text

    def need(name: str) -> int:
        return max([len(name), *(len(row[name]) for row in rows)])

    shown = list(COLUMNS)
    def fixed() -> int:
        return sum(need(c) + 1 for c in shown if c != "outcomes")

    for optional in OPTIONAL:
        if fixed() + OUTCOMES_MIN <= width:
            break
        shown.remove(optional)
    room = max(OUTCOMES_MIN, width - fixed())
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0), expand=False)
    for name in shown:
        table.add_column(name, no_wrap=True, overflow="fold" if name == "outcomes" else "ellipsis",
                         justify="right" if name in RIGHT else "left")
    for row in rows:
        cells = {**row, "outcomes": wrap_items(row["outcomes"], room)}
        table.add_row(*(Text(cells[name]) for name in shown))
    return table


def wrap_items(text: str, width: int) -> str:
    """``"147 passed, 3 failed"`` in lines of at most ``width``, broken between items only."""
    lines: list[str] = []
    for item in text.split(", "):
        if lines and len(lines[-1]) + 2 + len(item) + 1 <= width:
            lines[-1] += ", " + item
        else:
            if lines:
                lines[-1] += ","
            lines.append(item)
    return "\n".join(lines)
