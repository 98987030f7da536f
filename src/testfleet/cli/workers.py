"""``testfleet workers [RUN]``: the workers of a run and the capabilities they advertised."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from testfleet.cli.storeopts import add_db_option
from testfleet.cli.window import add_format_option

if TYPE_CHECKING:
    from testfleet.model import WorkerInfo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("workers", help="list the workers of a run and their capabilities")
    parser.add_argument(
        "run", nargs="?", metavar="RUN", help="run id or a unique prefix of one (default: the latest run)"
    )
    add_db_option(parser)
    add_format_option(parser)
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.cli.storeopts import read_run
    from testfleet.console import out

    info, workers = read_run(ns, lambda store, run: store.workers(run.run_id))
    if ns.format == "json":
        from dataclasses import asdict

        from testfleet.cli.window import emit_json

        emit_json({"run_id": info.run_id, "workers": [asdict(w) for w in workers]})
        return 0
    if not workers:
        out().print(f"run {info.run_id} recorded no workers", markup=False)
        return 0
    console = out()
    console.print(workers_table(workers, console.width, f"workers of run {info.run_id}"))
    return 0


# Below this many characters for the capabilities, Ray node ids and then host names are shortened.
CAPS_MIN = 30
NODE_SHORT = 8  # characters of a Ray node id kept (of 56), like a short git hash
GAP = 2  # spaces between columns


def workers_table(workers: Sequence[WorkerInfo], width: int, title: str) -> Any:
    """The workers table within ``width`` columns. When every worker fits one line, the GPUs and
    tags have their own columns; otherwise they become the first items of the capabilities
    cell, which wraps between ``key=value`` items (never inside one), and, while that cell
    would get fewer than CAPS_MIN characters, Ray node ids and then host names are shortened
    (``--format json`` has them in full). The node column is shown for Ray runs only."""
    from rich.table import Table

    from testfleet.cli import render

    workers = sorted(workers, key=natural_order)  # w0, w1, ..., w10 (the store has them as they said hello)
    rows = [worker_cells(w) for w in workers]
    items = [capability_items(w) for w in workers]
    shown = ["worker", "host", *(["node"] if any(w.node for w in workers) else []), "pid", "gpus", "tags"]

    def room() -> int:
        return width - sum(max([len(c), *(len(row[c]) for row in rows)]) + GAP for c in shown)

    if room() < max([len("capabilities"), *(len(" ".join(its)) for its in items)]):
        shown = [c for c in shown if c not in ("gpus", "tags")]
        items = [
            hardware_items(row) + [i for i in its if i != "-"] or ["-"]
            for row, its in zip(rows, items, strict=True)
        ]
        for name, shorten in (("node", short_node), ("host", short_host)):
            if name in shown and room() < CAPS_MIN:
                for row in rows:
                    row[name] = shorten(row[name])
    width_left = max(len("capabilities"), room())
    table = Table(
        box=None,
        header_style="bold",
        pad_edge=False,
        padding=(0, GAP // 2),
        title_justify="left",
        title=title,
    )
    for name in shown:
        table.add_column(name, no_wrap=True, justify="right" if name == "pid" else "left")
    table.add_column("capabilities", overflow="fold")
    for row, its in zip(rows, items, strict=True):
        table.add_row(*render.cells(*(row[c] for c in shown), render.wrap_items(its, width_left)))
    return table


def natural_order(w: WorkerInfo) -> list[tuple[int, str]]:
    import re

    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", w.worker_id)]


def worker_cells(w: WorkerInfo) -> dict[str, str]:
    from testfleet.hardware import show

    return {
        "worker": w.worker_id,
        "host": w.host or "-",
        "node": w.node or "-",
        "pid": "-" if w.pid is None else str(w.pid),
        "gpus": show.gpus_cell(w.capabilities),
        "tags": show.tags_cell(w.capabilities) or "-",
    }


def capability_items(w: WorkerInfo) -> list[str]:
    """``key=value`` of the capabilities not shown in a column of their own."""
    from testfleet.cli import render
    from testfleet.hardware import show

    caps = show.other_caps(w.capabilities)
    if w.node:
        caps.pop("node", None)  # the node column
    tags = w.capabilities.get("tags")
    for tag in tags if isinstance(tags, list | tuple) else []:
        if caps.get(tag) is True:  # a Ray tag is also a capability: shown once, as a tag
            del caps[tag]
    return [f"{k}={render.capability(k, v)}" for k, v in sorted(caps.items())] or ["-"]


def hardware_items(row: dict[str, str]) -> list[str]:
    """The gpus and tags cells as capability items: ``gpus=0:A10G 24G,``, ``1:A10G 24G``, ``tags=gpu``."""
    gpus = row["gpus"].split(", ") if row["gpus"] != "-" else []
    folded = [
        ("gpus=" if i == 0 else "") + gpu + ("," if i < len(gpus) - 1 else "") for i, gpu in enumerate(gpus)
    ]
    return folded + ([f"tags={row['tags']}"] if row["tags"] != "-" else [])


def short_node(node: str) -> str:
    """A Ray node id (56 hex digits) as its first NODE_SHORT, marked as shortened."""
    return node if len(node) <= NODE_SHORT + 1 else node[:NODE_SHORT] + "\u2026"


def short_host(host: str) -> str:
    """``ip-10-0-12-34.eu-west-1.compute.internal`` -> ``ip-10-0-12-34``; IP addresses stay whole."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.split(".", 1)[0] or host
    return host
