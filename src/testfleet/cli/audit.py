"""``testfleet audit``: a static and (optionally) measured audit of a test suite.

Exit codes: 0 report written and no gate failed; 1 ``--fail-under`` or ``--fail-on`` gate failed;
4 bad usage (unknown rule, bad value, unknown format, a path that does not exist, coverage.py
missing for ``--run``/``--mutate``, a report that cannot be written).
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_MUTANTS = 20


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a score between 0 and 10, got {text!r}") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"expected a score between 0 and 10, got {text!r}")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit",
        help="audit a test suite: static rules, coverage, executed checks, mutation score",
        description="Audit a pytest/unittest suite. Static rules always run; --run measures coverage, "
        "executed checks and durations through testfleet workers; --mutate adds mutants.",
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="test files or directories (default: tests/ or .)"
    )
    p.add_argument("--run", action="store_true", help="run the suite with coverage and check counting")
    p.add_argument(
        "--mutate",
        nargs="?",
        type=_positive_int,
        const=DEFAULT_MUTANTS,
        default=None,
        metavar="N",
        help=f"mutation testing, at most N mutants (default {DEFAULT_MUTANTS}); "
        "implies --run. Write --mutate=N",
    )
    p.add_argument(
        "--mutate-via",
        choices=["fleet", "pytest"],
        default="fleet",
        help="run mutants as work items of one testfleet run over the workers (default), or "
        "one pytest process per mutant",
    )
    p.add_argument(
        "--format", choices=["md", "json", "html"], default="md", help="report format (default md)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument(
        "--fail-under",
        type=_score,
        metavar="SCORE",
        help="exit 1 when the suite score (the low end of its range) < SCORE",
    )
    p.add_argument("--fail-on", metavar="RULE,...", help="exit 1 when any finding of these rules exists")
    p.add_argument(
        "-w", "--workers", type=_positive_int, default=2, help="workers for --run/--mutate (default 2)"
    )
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="PATH",
        help="code to measure coverage of (repeatable; default: src/ or the package under test)",
    )
    p.add_argument("--root", default=".", help="directory report paths are relative to (default .)")
    p.add_argument(
        "--max-file-size",
        type=_positive_int,
        default=2_000_000,
        metavar="BYTES",
        help="skip test files larger than this (default 2000000)",
    )
    p.add_argument("--store", metavar="PATH", help="results store to read flakiness history from")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for the measured run")
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from testfleet.audit.engine import run_audit
    from testfleet.audit.options import AuditOptions
    from testfleet.audit.registry import RULES
    from testfleet.console import abort, err, out
    from testfleet.errors import MissingDependencyError

    fail_on: set[str] = set()
    if ns.fail_on:
        fail_on = {r.strip() for r in ns.fail_on.split(",") if r.strip()}
        unknown = sorted(fail_on - set(RULES))
        if unknown:
            abort(f"--fail-on: unknown rule(s) {', '.join(unknown)}; accepted: {', '.join(RULES)}", 4)
    missing = [p for p in ns.paths if not Path(p).exists()]
    if missing:
        abort(f"audit: no such file or directory: {missing[0]} (give test files or directories)", 4)
    measured = ns.run or ns.mutate is not None
    if measured:
        import importlib.util

        if importlib.util.find_spec("coverage") is None:
            flag = "--run" if ns.run else "--mutate"
            raise MissingDependencyError(
                f"audit {flag} needs coverage.py, which is not installed; "
                "install it with: pip install 'testfleet[audit]'"
            )
    paths = ns.paths or (["tests"] if Path("tests").is_dir() else ["."])
    opts = AuditOptions(
        paths=paths,
        root=ns.root,
        run=measured,
        mutate=ns.mutate,
        workers=ns.workers,
        source=ns.source,
        max_file_size=ns.max_file_size,
        store=ns.store,
        timeout=ns.timeout,
        mutate_via=ns.mutate_via,
    )

    def progress(msg: str) -> None:
        err().print(f"audit: {msg}", markup=False, highlight=False, emoji=False)

    result = run_audit(opts, progress)
    if ns.format == "json":
        from testfleet.audit.report_json import render as render_json

        text = render_json(result)
    elif ns.format == "html":
        from testfleet.audit.report_html import render as render_html

        text = render_html(result)
    else:
        from testfleet.audit.report_md import render as render_md

        text = render_md(result)
    for fr in result.files:
        if fr.error:
            progress(f"skipped {fr.path}: {fr.error}")
    score = result.score_text
    summary = f"audit: score {score}, {len(result.tests)} tests, {len(result.findings)} findings"
    if ns.output:
        try:
            Path(ns.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            abort(f"-o {ns.output}: cannot write report: {exc.strerror or exc}", 4)
        out().print(f"{summary}; report written to {ns.output}", markup=False, highlight=False, emoji=False)
    else:
        out().print(text, markup=False, highlight=False, emoji=False, end="")
        progress(summary.removeprefix("audit: "))
    code = 0
    if ns.fail_under is not None and (result.score is None or result.score < ns.fail_under):
        progress(f"FAIL: score {score} is below --fail-under {ns.fail_under} (the low end counts)")
        code = 1
    hits = sorted({f.rule for f in result.findings} & fail_on)
    if hits:
        n = sum(1 for f in result.findings if f.rule in fail_on)
        progress(f"FAIL: {n} finding(s) of --fail-on rule(s): {', '.join(hits)}")
        code = 1
    return code
