"""``testfleet runs``: the table of past runs, newest first."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.storeopts import add_db_option
from testfleet.cli.window import add_format_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runs", help="list past runs stored in the results file")
    add_db_option(parser)
    parser.add_argument(
        "--limit",
        "--runs",
        dest="limit",
        type=int,
        default=20,
        metavar="N",
        help="show the N most recent runs (default: 20)",
    )
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
        rows.append(
            {
                "run": r.run_id,
                "started": started[5:] if started.startswith(year) else started,
                "took": render.seconds((r.end if r.end is not None else now) - r.start),
                "status": r.status,
                # a partial run is marked beside its test count; a whole-suite count is padded so
                # the digits stay aligned in the right-justified column
                "tests": f"{r.collected}{PARTIAL_MARK if r.partial else ' '}",
                "exit": "-" if r.exit_code is None else str(r.exit_code),
                "commit": (r.git_commit or "-")[:7],
                "outcomes": render.counts(r.counts),
            }
        )
    console.print(
        runs_table(rows, console.width, start_in_id=all(id_tells_start(r.run_id, r.start) for r in runs))
    )
    if any(r.partial for r in runs):
        import textwrap

        console.print("\n".join(textwrap.wrap(PARTIAL_LEGEND, max(console.width, 40))), markup=False)
    return 0


# Columns in the order shown; the optional ones are left out, in this order, while the outcomes
# column would get fewer than OUTCOMES_MIN characters (two usual outcomes a line). "started" goes
# first, and only when every run id already tells when its run started (YYYYMMDD-HHMMSS-xxxx):
# so at 80 columns nothing is lost; at 120 every column is shown.
COLUMNS = ("run", "started", "took", "status", "tests", "exit", "commit", "outcomes")
OPTIONAL = ("started", "commit", "exit", "took")
RIGHT = ("took", "tests", "exit")
OUTCOMES_MIN = 20
PARTIAL_MARK = "*"
PARTIAL_LEGEND = f"{PARTIAL_MARK} partial run (-k, -m, node ids, shard, --resume): not in history statistics"


def id_tells_start(run_id: str, start: float) -> bool:
    """Whether ``run_id`` is testfleet's ``YYYYMMDD-HHMMSS-xxxx`` (local time) of ``start``."""
    import time

    try:
        stamp = time.mktime(time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
    except (ValueError, OverflowError):
        return False
    return abs(stamp - start) < 60


def runs_table(rows: list[dict[str, str]], width: int, *, start_in_id: bool = False) -> Any:
    """The runs table within ``width`` columns: every column but outcomes keeps its cells on
    one line; outcomes wraps between outcomes (``3 passed,`` / ``1 failed``), never inside one.
    ``start_in_id``: the run ids tell the start, so the started column may be left out."""
    from rich.table import Table
    from rich.text import Text

    from testfleet.cli import render

    items = {row["run"]: outcome_items(row["outcomes"]) for row in rows}
    longest = max(len(item) for row_items in items.values() for item in row_items)

    def need(name: str) -> int:
        return max([len(name), *(len(row[name]) for row in rows)])

    shown = list(COLUMNS)

    def room() -> int:
        return width - sum(need(c) + 1 for c in shown if c != "outcomes")

    for optional in OPTIONAL:
        if room() >= max(OUTCOMES_MIN, longest):
            break
        if optional != "started" or start_in_id:
            shown.remove(optional)
    # all of it when it fits (one line a run), else what is left, but never less than an item
    room_left = max(longest, room())
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0), expand=False)
    for name in shown:
        table.add_column(
            name,
            no_wrap=name != "outcomes",
            overflow="fold" if name == "outcomes" else "ellipsis",
            justify="right" if name in RIGHT else "left",
        )
    for row in rows:
        cells = {**row, "outcomes": render.wrap_items(items[row["run"]], room_left)}
        table.add_row(*(Text(cells[name]) for name in shown))
    return table


def outcome_items(text: str) -> list[str]:
    """``"147 passed, 3 failed"`` -> ``["147 passed,", "3 failed"]``: the units a line may hold."""
    parts = text.split(", ")
    return [part + ("," if i < len(parts) - 1 else "") for i, part in enumerate(parts)]
