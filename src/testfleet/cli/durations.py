"""``testfleet durations export FILE``: the stored test durations as a small JSON file, for CI
jobs that do not share a results store (``testfleet run --shard I/K --durations-file FILE``).

Each test's duration is the median of its last five timed attempts (passed or failed) in
the newest runs that are over; see :mod:`testfleet.shard.durations`.
"""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.storeopts import add_db_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("durations", help="export stored test durations (for --shard in CI)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    export = sub.add_parser("export", help="write the durations to FILE (JSON)")
    export.add_argument("file", metavar="FILE", help="where to write (replaced atomically)")
    add_db_option(export)
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda ns: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    from testfleet.console import abort

    abort("durations: name an action: export FILE (e.g. testfleet durations export .test_durations.json)", 4)


def run_export(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from testfleet.cli.storeopts import read_store
    from testfleet.console import abort, out
    from testfleet.shard.durations import history_durations, write_durations

    target = Path(ns.file)
    if target.is_dir():
        abort(f"durations export: {ns.file} is a directory; name a file", 4)
    if not target.absolute().parent.is_dir():
        abort(f"durations export: the directory of {ns.file} does not exist", 4)
    durations = read_store(ns, history_durations)
    if not durations:
        abort("durations export: the results store has no timed tests yet (run the suite first)", 1)
    try:
        write_durations(target, durations)
    except OSError as exc:
        abort(f"durations export: cannot write {ns.file}: {exc.strerror or exc}", 1)
    out().print(
        f"testfleet: wrote the durations of {len(durations)} tests to {ns.file}",
        markup=False,
        highlight=False,
    )
    return 0
