"""What the history commands (trends, regressions, anomalies, forecast, flaky) share: the run
window options, reading a window from the store, and JSON/text output.

Only the standard library at import time.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from testfleet.cli.storeopts import add_db_option

if TYPE_CHECKING:
    from testfleet.store import Store
    from testfleet.store.history import RunStats, TestSeries

FORMATS = ("text", "json")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format: text (default) or json"
    )


def add_window_options(parser: argparse.ArgumentParser, default_runs: int) -> None:
    """``--db``, ``--runs N``, ``--include-partial`` and ``--format``."""
    add_db_option(parser)
    parser.add_argument(
        "--runs",
        type=int,
        default=default_runs,
        metavar="N",
        help=f"look at the latest N runs (default {default_runs})",
    )
    parser.add_argument(
        "--include-partial",
        action="store_true",
        help="also count partial runs (-k, -m, node ids, shards, resumed parts) and interrupted ones",
    )
    add_format_option(parser)


def check_runs(ns: argparse.Namespace, minimum: int = 1) -> None:
    from testfleet.console import abort

    if ns.runs < minimum:
        abort(f"--runs {ns.runs}: give a number of runs of at least {minimum}", 4)


@dataclass
class Window:
    """The runs of a window (oldest first) and, when asked, each test's series over them."""

    runs: list[RunStats]
    series: list[TestSeries]

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]


def read_window(
    ns: argparse.Namespace,
    *,
    series: bool = True,
    nodeids: list[str] | None = None,
    failing_only: bool = False,
    spread: tuple[float, float] | None = None,
) -> Window:
    """The window ``--runs``/``--include-partial`` name, read in one store session."""
    from testfleet.cli.storeopts import read_store

    def fetch(store: Store) -> Window:
        runs = store.run_stats(limit=ns.runs, include_partial=ns.include_partial)
        ids = [r.run_id for r in runs]
        tests = store.test_series(ids, nodeids, failing_only, spread) if series and runs else []
        return Window(runs, tests)

    return read_store(ns, fetch)


def emit_json(data: Any) -> None:
    from testfleet.console import out

    out().print(json.dumps(data, indent=1, default=str), markup=False, highlight=False, soft_wrap=True)


def line(text: str = "") -> None:
    from testfleet.console import out

    out().print(text, markup=False, highlight=False, soft_wrap=True)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
