"""``testfleet summary [RUN] --format md [--base RUN]``: a run as Markdown for a pull-request
comment (under 64 KB), the same text the job summary of a GitHub Actions run shows.

Without ``--base`` the base run is the newest complete run on the branch named by
``--base-branch`` (default: ``$GITHUB_BASE_REF`` and its GitLab/Azure equivalents), if any.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from testfleet.cli.storeopts import add_db_option

if TYPE_CHECKING:
    from testfleet.model import RunInfo
    from testfleet.store import Store

FORMATS = ("md",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("summary", help="a run as Markdown, for a pull-request comment")
    parser.add_argument(
        "run", nargs="?", metavar="RUN", help="run id or a unique prefix of one (default: the latest run)"
    )
    parser.add_argument(
        "--format", default="md", metavar="md", help="output format: md (Markdown, under 64 KB; the default)"
    )
    parser.add_argument(
        "--base",
        metavar="RUN",
        default=None,
        help="compare with this run (default: the newest complete run on --base-branch)",
    )
    parser.add_argument(
        "--base-branch",
        metavar="BRANCH",
        default=None,
        help="branch whose newest complete run is the base (default: $GITHUB_BASE_REF, "
        "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME or $SYSTEM_PULLREQUEST_TARGETBRANCH)",
    )
    parser.add_argument(
        "--max-bytes",
        metavar="N",
        type=int,
        default=None,
        help="size limit of the text (default 64000, under GitHub's comment limit)",
    )
    add_db_option(parser)
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    from testfleet.cli.storeopts import read_store, resolve_run
    from testfleet.console import abort
    from testfleet.report import github
    from testfleet.report.summary_md import COMMENT_LIMIT, render

    if ns.format not in FORMATS:
        abort(f"--format: {ns.format!r} is not one of {', '.join(FORMATS)}", 4)
    limit = COMMENT_LIMIT if ns.max_bytes is None else ns.max_bytes
    if limit < 1024:
        abort(f"--max-bytes: {limit} is too small (at least 1024)", 4)

    def fetch(store: Store) -> str:
        head = resolve_run(store, ns.run, ns)
        base: RunInfo | None = None
        if ns.base is not None:
            base = resolve_run(store, ns.base, ns)
        else:
            branch = ns.base_branch or github.base_branch(os.environ)
            if branch:
                base = github.find_base_run(store, branch, exclude=head.run_id)
        return render(github.input_from_store(store, head, base), limit)

    text = read_store(ns, fetch)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
