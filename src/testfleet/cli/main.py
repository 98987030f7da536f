"""``testfleet`` console script: dispatches to one module per command.

Each command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a callable ``(argparse.Namespace) -> int``. ``testfleet run`` is special: its
unknown options go to pytest unchanged, so it parses its own arguments.
Heavy imports happen inside the commands, so ``testfleet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from testfleet import __version__

# command name -> module under testfleet.cli
COMMANDS = {
    "run": "testfleet.cli.run",
    "runs": "testfleet.cli.runs",
    "show": "testfleet.cli.show",
    "workers": "testfleet.cli.workers",
    "compare": "testfleet.cli.compare",
    "flaky": "testfleet.cli.flaky",
    "trends": "testfleet.cli.trends",
    "regressions": "testfleet.cli.regressions",
    "anomalies": "testfleet.cli.anomalies",
    "forecast": "testfleet.cli.forecast",
    "report": "testfleet.cli.report",
    "audit": "testfleet.cli.audit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="testfleet",
        description="Run pytest suites across a fleet of workers and tell the truth about them.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"testfleet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        if name == "run":
            sub.add_parser("run", help="run a pytest suite on N workers (pytest options pass through)",
                           add_help=False)
            continue
        try:
            mod = importlib.import_module(modname)
        except ImportError:  # a command not built yet
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from testfleet.console import Abort

    try:
        if args and args[0] == "run":
            from testfleet.cli import run as run_cmd

            return run_cmd.main(args[1:], standalone=argv is None)
        parser = build_parser()
        ns = parser.parse_args(args)
        if not getattr(ns, "func", None):
            parser.print_help()
            return 4
        return int(ns.func(ns))
    except Abort as exc:
        return int(exc.code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
