"""``testfleet`` console script: dispatches to one module per command.

Each command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a callable ``(argparse.Namespace) -> int``. ``testfleet run`` is special: its
unknown options go to pytest unchanged, so it parses its own arguments.
Heavy imports happen inside the commands, so ``testfleet --help`` stays fast.

The one error path: commands raise :class:`~testfleet.errors.TestfleetError` (or call
:func:`testfleet.console.abort`); :func:`main` catches it here, prints
``testfleet: error: <message>`` on one line and returns the error's exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from testfleet import __version__
from testfleet.cli.parser import Parser, unrecognized
from testfleet.errors import TestfleetError

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
    "summary": "testfleet.cli.summary",
    "durations": "testfleet.cli.durations",
    "dashboard": "testfleet.cli.dashboard",
}


def _unavailable(name: str, modname: str, exc: BaseException) -> Any:
    """A command whose module cannot be imported stays listed, and says why when called."""

    def func(ns: argparse.Namespace) -> int:
        raise TestfleetError(
            f"testfleet {name} is unavailable: importing {modname} failed: {type(exc).__name__}: {exc}"
        )

    return func


def build_parser() -> Parser:
    parser = Parser(
        prog="testfleet",
        description="Run pytest suites across a fleet of workers and tell the truth about them.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"testfleet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, modname in COMMANDS.items():
        if name == "run":
            sub.add_parser(
                "run", help="run a pytest suite on N workers (pytest options pass through)", add_help=False
            )
            continue
        try:
            mod = importlib.import_module(modname)
        except ImportError as exc:
            p = sub.add_parser(name, help=f"(unavailable: {exc})", add_help=False)
            p.set_defaults(func=_unavailable(name, modname, exc), unavailable=True)
            continue
        mod.register(sub)
    return parser


def _subparsers(parser: Parser) -> dict[str, Parser]:
    found: dict[str, Parser] = {}
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for name, sub in (getattr(action, "choices", None) or {}).items():
            if isinstance(sub, Parser):
                found[name] = sub
    return found


def dispatch(args: list[str], *, standalone: bool = False) -> int:
    """Parse and run one command; errors propagate as :class:`TestfleetError`."""
    if args and args[0] == "run":
        from testfleet.cli import run as run_cmd

        return run_cmd.main(args[1:], standalone=standalone)
    parser = build_parser()
    ns, extras = parser.parse_known_args(args)
    if extras and not getattr(ns, "unavailable", False):
        commands = _subparsers(parser)
        own = commands.get(ns.command) if ns.command else parser
        raise unrecognized(ns.command or "", extras, own, commands)
    if not getattr(ns, "func", None):
        parser.print_help()
        return 4
    return int(ns.func(ns))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from testfleet.console import error_line

    try:
        return dispatch(args, standalone=argv is None)
    except TestfleetError as exc:
        error_line(exc.message)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
