"""A stored run as one self-contained HTML file (inline CSS, no scripts, nothing fetched).

With ``history`` (the store's runs up to this one), the page starts with the trend charts of
the history dashboard (pass rate, total test time with the forecast of the next runs, flaky
tests), drawn as inline SVG.

Everything that comes from a test — node ids, messages, failure text, captured output — is
escaped: a test can print anything, ``<script>`` included, and the page only shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from testfleet.analysis.clusters import cluster_failures
from testfleet.formatting import seconds as _seconds
from testfleet.formatting import timestamp
from testfleet.model import FAILURE_VALUES, OUTCOME_ORDER, RunInfo, TestResult, WorkerInfo, outcome_counts

if TYPE_CHECKING:
    from testfleet.dashboard.history import TrendPoint

SLOWEST = 20
COLORS = {
    "passed": "#2e7d32",
    "failed": "#c62828",
    "error": "#ad1457",
    "crashed": "#6a1b9a",
    "timeout": "#e65100",
    "unschedulable": "#4e342e",
    "skipped": "#9e9e9e",
    "xfailed": "#78909c",
    "xpassed": "#f9a825",
    "not_run": "#bdbdbd",
}
_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:flex;height:18px;border-radius:3px;overflow:hidden;margin:.5em 0 1em}.bar span{display:block}
.o{color:#fff;border-radius:3px;padding:0 6px;font-size:12px;white-space:nowrap}
pre{background:#f7f7f7;padding:.6em;overflow:auto;max-height:40em;white-space:pre-wrap}
details{margin:.4em 0;border-left:3px solid #ddd;padding-left:.6em}summary{cursor:pointer}code{background:#f6f6f6}
.meta td:first-child{color:#666}.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}
.chart{border:1px solid #e3e3e3;border-radius:4px;padding:.4em}.chart figcaption{font-weight:600}"""


def _badge(outcome: str) -> str:
    return f'<span class="o" style="background:{COLORS.get(outcome, "#607d8b")}">{escape(outcome)}</span>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render(
    run: RunInfo,
    results: Sequence[TestResult],
    workers: Sequence[WorkerInfo],
    history: Sequence[TrendPoint] = (),
) -> str:
    final = [r for r in results if r.final]
    counts = outcome_counts(final)
    total = sum(counts.values()) or 1
    order = [o for o in OUTCOME_ORDER if counts.get(o)] + sorted(set(counts) - set(OUTCOME_ORDER))
    took = (run.end - run.start) if run.end is not None else None
    meta = [
        ("status", escape(run.status) + ("" if run.exit_code is None else f", exit code {run.exit_code}")),
        ("started", timestamp(run.start)),
        ("took", _seconds(took)),
        ("host", escape(f"{run.host or '?'} (pid {run.pid or '?'})")),
        ("workers", escape(f"{run.workers} ({run.backend})")),
        ("collected", str(run.collected)),
    ]
    if run.git_commit or run.git_branch:
        meta.append(("git", escape(f"{run.git_commit or '?'} {run.git_branch or ''}".strip())))
    if run.args:
        meta.append(("args", f"<code>{escape(' '.join(run.args))}</code>"))
    if run.parent_run:
        meta.append(("continues", escape(run.parent_run)))
    parts = [
        f"<h1>testfleet run <code>{escape(run.run_id)}</code></h1>",
        '<table class="meta">' + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in meta) + "</table>",
        "<h2>Outcomes</h2>",
        '<div class="bar">'
        + "".join(
            f'<span title="{escape(o)}: {counts[o]}" style="width:{100 * counts[o] / total:.3f}%;'
            f'background:{COLORS.get(o, "#607d8b")}"></span>'
            for o in order
        )
        + "</div>",
        _table(["outcome", "tests"], [[_badge(o), str(counts[o])] for o in order], numeric=[1]),
    ]
    if len(history) > 1:
        from testfleet.dashboard.insights import time_forecast
        from testfleet.dashboard.pages import trend_charts

        parts.append(
            f"<h2>History (last {len(history)} runs)</h2>" + trend_charts(history, time_forecast(history))
        )

    failures = sorted((r for r in final if r.outcome in FAILURE_VALUES), key=lambda r: r.nodeid)
    if failures:
        parts.append(f"<h2>Failures ({len(failures)})</h2>")
        for r in failures:
            body = f"<pre>{escape(r.failure_text or r.message or '')}</pre>"
            for title, text in (("stdout", r.stdout), ("stderr", r.stderr)):
                if text:
                    body += f"<p>Captured {title}</p><pre>{escape(text)}</pre>"
            parts.append(
                f"<details><summary>{_badge(r.outcome)} <code>{escape(r.nodeid)}</code>"
                f" &mdash; {escape(r.message or '')}</summary>{body}</details>"
            )
    clusters = cluster_failures(final)
    if clusters:
        parts.append(
            f"<h2>Failure clusters ({len(clusters)})</h2>"
            + _table(
                ["tests", "signature", "outcomes", "members"],
                [
                    [
                        str(len(c.nodeids)),
                        f"<code>{escape(c.signature)}</code>",
                        escape(", ".join(c.outcomes)),
                        "<br>".join(f"<code>{escape(n)}</code>" for n in c.nodeids),
                    ]
                    for c in clusters
                ],
                numeric=[0],
            )
        )
    flaky = sorted((r for r in final if r.flaky), key=lambda r: r.nodeid)
    if flaky:
        parts.append(
            f"<h2>Flaky ({len(flaky)})</h2>"
            + _table(
                ["test", "passed on attempt"],
                [[f"<code>{escape(r.nodeid)}</code>", str(r.attempt)] for r in flaky],
            )
        )
    slowest = sorted(final, key=lambda r: r.duration, reverse=True)[:SLOWEST]
    if slowest:
        parts.append(
            f"<h2>Slowest {len(slowest)}</h2>"
            + _table(
                ["duration", "test", "worker"],
                [
                    [_seconds(r.duration), f"<code>{escape(r.nodeid)}</code>", escape(r.worker or "-")]
                    for r in slowest
                ],
                numeric=[0],
            )
        )
    if workers:
        parts.append(
            f"<h2>Workers ({len(workers)})</h2>"
            + _table(
                ["worker", "host", "node", "pid", "capabilities"],
                [
                    [
                        escape(w.worker_id),
                        escape(w.host or "-"),
                        escape(w.node or "-"),
                        str(w.pid or "-"),
                        escape(", ".join(f"{k}={v}" for k, v in sorted(w.capabilities.items()))),
                    ]
                    for w in workers
                ],
            )
        )
    parts.append(
        f"<h2>All tests ({len(final)})</h2>"
        + _table(
            ["test", "outcome", "duration", "worker", "attempts"],
            [
                [
                    f"<code>{escape(r.nodeid)}</code>",
                    _badge(r.outcome),
                    _seconds(r.duration),
                    escape(r.worker or "-"),
                    str(r.attempt),
                ]
                for r in sorted(final, key=lambda r: r.nodeid)
            ],
            numeric=[2, 4],
        )
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>testfleet run '
        f"{escape(run.run_id)}</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
