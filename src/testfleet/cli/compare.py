"""``testfleet compare [BASE] [HEAD]``: what changed between two stored runs.

With no run named, the run before the latest is compared with the latest; with one, that run
with the latest. ``--fail-on`` makes it a CI gate (exit 1 when a named section is not empty);
the ``new-failures`` gate also trips on an added test that fails (``added-failures`` alone is
its own gate). A test the history before HEAD calls flaky (``--flaky-runs``) that passes again
is listed under "flaky, passed this time", not "fixed".
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from testfleet.cli.storeopts import add_db_option

if TYPE_CHECKING:
    from testfleet.analysis.compare import Change, Comparison
    from testfleet.model import RunInfo
    from testfleet.store import Store

FAIL_ON = ("new-failures", "added-failures", "still-failing", "removed", "slower")
GATE_SECTIONS = {"new-failures": ("new_failures", "added_failures")}  # gates that count several
DEFAULT_FLAKY_RUNS = 50
LISTED = 20  # rows per section in the text output (all of them with -v)


def register(subparsers: Any) -> None:
    from testfleet.analysis.compare import DEFAULT_MIN_RATIO, DEFAULT_MIN_SECONDS

    parser = subparsers.add_parser(
        "compare", help="compare two runs: new failures, fixed, added/removed, slower and faster tests"
    )
    parser.add_argument(
        "base", nargs="?", metavar="BASE", help="run id or unique prefix (default: the run before the latest)"
    )
    parser.add_argument(
        "head", nargs="?", metavar="HEAD", help="run id or unique prefix (default: the latest run)"
    )
    add_db_option(parser)
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=DEFAULT_MIN_RATIO,
        metavar="R",
        help=f"slower/faster: duration changed by at least R times (default {DEFAULT_MIN_RATIO})",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=DEFAULT_MIN_SECONDS,
        metavar="S",
        help=f"... and by at least S seconds (default {DEFAULT_MIN_SECONDS})",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--fail-on",
        default="",
        metavar="LIST",
        help=f"exit 1 when any of these sections is not empty: {','.join(FAIL_ON)}",
    )
    parser.add_argument(
        "--flaky-runs",
        type=int,
        default=DEFAULT_FLAKY_RUNS,
        metavar="N",
        help="runs before HEAD that decide which tests are known flaky "
        f"(default {DEFAULT_FLAKY_RUNS}; 0: none)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every row of every section")
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.analysis.compare import compare
    from testfleet.cli.storeopts import read_store, resolve_run
    from testfleet.console import abort

    gates = [g.strip() for g in ns.fail_on.split(",") if g.strip()]
    unknown = [g for g in gates if g not in FAIL_ON]
    if unknown:
        abort(f"--fail-on {unknown[0]!r} is not a section; choose from {', '.join(FAIL_ON)}", 4)
    if ns.min_ratio < 1.0 or ns.min_seconds < 0:
        abort("--min-ratio must be at least 1.0 and --min-seconds at least 0", 4)
    if ns.flaky_runs < 0:
        abort(f"--flaky-runs {ns.flaky_runs}: give a number of runs, 0 or more", 4)

    def fetch(store: Store) -> tuple[RunInfo, RunInfo, Comparison]:
        head = resolve_run(store, ns.head, ns)
        if ns.base is not None:
            base = resolve_run(store, ns.base, ns)
        else:
            earlier = [r for r in store.runs(limit=50) if r.start < head.start]
            if not earlier:
                abort(f"run {head.run_id} has no earlier run to compare with; name two runs", 4)
            base = earlier[0]
        if base.run_id == head.run_id:
            abort(f"BASE and HEAD are the same run ({head.run_id}); name two different runs", 4)
        return (
            base,
            head,
            compare(
                store.results(base.run_id),
                store.results(head.run_id),
                min_ratio=ns.min_ratio,
                min_seconds=ns.min_seconds,
                known_flaky=_known_flaky(store, head, ns.flaky_runs),
            ),
        )

    base, head, result = read_store(ns, fetch)
    if ns.format == "json":
        from testfleet.console import out

        data = {"base": base.run_id, "head": head.run_id, **result.as_dict()}
        out().print(json.dumps(data, indent=1), markup=False, highlight=False, soft_wrap=True)
    else:
        _print(base, head, result, verbose=ns.verbose)
    hit = [
        g
        for g in gates
        if any(getattr(result, name) for name in GATE_SECTIONS.get(g, (g.replace("-", "_"),)))
    ]
    return 1 if hit else 0


def _known_flaky(store: Store, head: RunInfo, runs: int) -> set[str]:
    """Tests the ``runs`` runs before ``head`` call flaky."""
    from testfleet.analysis.flaky import known_flaky

    if runs < 2:
        return set()
    window = store.run_stats(limit=runs, before=head.start)
    return known_flaky(window, store.test_series([r.run_id for r in window], failing_only=True))


def _print(base: RunInfo, head: RunInfo, cmp: Comparison, *, verbose: bool) -> None:
    from testfleet.analysis.compare import SECTIONS
    from testfleet.cli import render
    from testfleet.console import out

    console = out()

    def line(text: str = "") -> None:
        console.print(text, markup=False, highlight=False)

    line(f"base {base.run_id} ({render.timestamp(base.start)}): {render.counts(cmp.base_counts)}")
    line(f"head {head.run_id} ({render.timestamp(head.start)}): {render.counts(cmp.head_counts)}")
    line(f"test time {render.seconds(cmp.base_seconds)} -> {render.seconds(cmp.head_seconds)}")

    def section(title: str, rows: list[Change], fmt: Any) -> None:
        if not rows:
            return
        line()
        line(f"{title} ({len(rows)}):")
        shown = rows if verbose else rows[:LISTED]
        for c in shown:
            line(f"  {fmt(c)}")
        if len(shown) < len(rows):
            line(f"  ... {len(rows) - len(shown)} more (-v lists all)")

    def failure(c: Change) -> str:
        return f"{(c.head_outcome or '').upper()} {c.nodeid} (was {c.base_outcome})" + (
            f" - {c.message}" if c.message else ""
        )

    def timing(c: Change) -> str:
        ratio = c.ratio
        times = f"{render.seconds(c.base_seconds)} -> {render.seconds(c.head_seconds)}"
        if not ratio:  # unknown, or a test that now takes no measurable time
            return f"{c.nodeid}: {times}"
        return (
            f"{c.nodeid}: {times} ({ratio:.1f}x)"
            if ratio >= 1
            else (f"{c.nodeid}: {times} ({1 / max(ratio, 1e-9):.1f}x faster)")
        )

    section("new failures", cmp.new_failures, failure)
    section("still failing", cmp.still_failing, failure)
    section("added and failing", cmp.added_failures, failure)
    section("fixed", cmp.fixed, lambda c: f"{c.nodeid} ({c.base_outcome} -> {c.head_outcome})")
    section(
        "flaky, passed this time (not fixed)",
        cmp.flaky_passes,
        lambda c: f"{c.nodeid} ({c.base_outcome} -> {c.head_outcome})",
    )
    section(
        "other outcome changes",
        cmp.other_changes,
        lambda c: f"{c.nodeid} ({c.base_outcome} -> {c.head_outcome})",
    )
    section("added", cmp.added, lambda c: f"{c.nodeid} ({c.head_outcome})")
    section("removed", cmp.removed, lambda c: f"{c.nodeid} (was {c.base_outcome})")
    section("slower", cmp.slower, timing)
    section("faster", cmp.faster, timing)
    if not any(getattr(cmp, name) for name in SECTIONS):
        line()
        line("no changes: same tests, same outcomes, no duration change past the thresholds")
