"""HTML of the history pages: overview (trends, flaky, regressions, runs), one run, the grid.

Pages are built on the server with every value from the store escaped; they carry no script at
all (filters are plain GET forms), so the Content-Security-Policy has nothing to allow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from testfleet.analysis.forecast import MIN_POINTS, Forecast
from testfleet.dashboard import svg
from testfleet.dashboard.history import Grid, RunPage, TrendPoint
from testfleet.dashboard.insights import Insights
from testfleet.model import FAILURE_VALUES, OUTCOME_ORDER, RunInfo, TestResult


def _stamp(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _secs(v: float | None) -> str:
    return "-" if v is None else svg.seconds(v)


def _badge(outcome: str) -> str:
    return f'<span class="badge o-{escape(outcome)}">{escape(outcome)}</span>'


def _run_link(run_id: str) -> str:
    return f'<a href="/runs/{quote(run_id)}"><code>{escape(run_id)}</code></a>'


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), cls: str = ""
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def layout(title: str, body: str, *, static: str = "/static") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<link rel="stylesheet" href="{static}/style.css"><link rel="icon" href="{static}/favicon.svg">'
        "</head><body>"
        '<nav><a href="/">Overview</a><a href="/grid">Tests x runs</a></nav>'
        f"{body}</body></html>\n"
    )


def trend_charts(trend: Sequence[TrendPoint], forecast: Forecast | None = None) -> str:
    """The three trend charts (pass rate, total test time, flaky count) over ``trend``, with
    ``forecast`` (of the total test time) drawn after the last run."""
    if not trend:
        return '<p class="muted">no runs yet</p>'
    labels = [f"{p.run_id} ({_stamp(p.start)})" for p in trend]
    ends = (_stamp(trend[0].start)[:16], _stamp(trend[-1].start)[:16])
    ahead = (
        []
        if forecast is None
        else [
            svg.Ahead(f"next run +{f.step}", f.mean, f.lo80, f.hi80, f.lo95, f.hi95) for f in forecast.points
        ]
    )
    rates = [p.pass_rate for p in trend]
    lowest = min((r for r in rates if r is not None), default=0.0)
    charts = [
        (
            "Pass rate",
            svg.line_chart(
                "Pass rate (passed / passed + failing)",
                labels,
                rates,
                svg.percent,
                y_range=(max(0.0, lowest - 0.01) if lowest > 0.5 else 0.0, 1.0),
                ends=ends,
            ),
        ),
        (
            "Total test time",
            svg.line_chart(
                "Total test time (all attempts)",
                labels,
                [p.test_seconds for p in trend],
                svg.seconds,
                ahead=ahead,
                ends=ends,
            ),
        ),
        (
            "Flaky tests",
            svg.bar_chart("Tests that passed on a retry", labels, [p.flaky for p in trend], ends=ends),
        ),
    ]
    return (
        '<div class="charts">'
        + "".join(
            f'<figure class="chart" data-chart="{escape(name)}"><figcaption>{escape(name)}</figcaption>{chart}</figure>'
            for name, chart in charts
        )
        + "</div>"
    )


def overview(trend: Sequence[TrendPoint], runs: Sequence[RunInfo], found: Insights) -> str:
    parts = [
        f"<h1>testfleet history</h1><p>{len(runs)} latest runs; charts over the last {len(trend)}.</p>",
        "<h2>Trends</h2>",
        trend_charts(trend, found.forecast),
        _forecast_note(found.forecast),
        f"<h2>Flaky tests ({len(found.flaky)})</h2>",
    ]
    if found.flaky:
        parts.append(
            f"<p>Over the last {found.window} whole-suite runs. <em>probability</em>: of failing while "
            "nothing is wrong (posterior mean, with its 95% interval); <em>flaky</em> needs evidence "
            "that a failure was not a code change (a pass on a retry, a pass and a failure on one "
            "commit, two flips or more); <em>broken</em>: failing since the run named, more often "
            "than its failure rate explains. See docs/analysis.md.</p>"
        )
        parts.append(
            _table(
                [
                    "test",
                    "status",
                    "probability",
                    "95% interval",
                    "runs",
                    "failures",
                    "retried",
                    "same commit",
                    "flips",
                    "broken since",
                ],
                [
                    [
                        f"<code>{escape(f.nodeid)}</code>",
                        f'<span class="badge s-{escape(f.status)}">{escape(f.status)}</span>',
                        svg.percent(f.probability),
                        f"{svg.percent(f.interval[0])} to {svg.percent(f.interval[1])}",
                        str(f.runs),
                        str(f.failures),
                        str(f.retried),
                        str(f.same_commit),
                        str(f.flips),
                        "-" if f.broken_since is None else _run_link(f.broken_since),
                    ]
                    for f in found.flaky
                ],
                numeric=[2, 3, 4, 5, 6, 7, 8],
                cls="flaky",
            )
        )
    else:
        parts.append(f'<p class="muted">none in the last {found.window} whole-suite runs</p>')
    parts.append(f"<h2>Regressions ({len(found.regressions)})</h2>")
    if found.regressions:
        parts.append(
            "<p>Duration steps of passing runs (binary segmentation on log time, confirmed by a "
            "Mann-Whitney test, at least 1.25x and 0.05 s): the slowdowns, the biggest first.</p>"
        )
        parts.append(
            _table(
                ["test", "since run", "before", "after", "ratio", "p-value"],
                [
                    [
                        f"<code>{escape(r.nodeid)}</code>",
                        _run_link(r.since_run),
                        _secs(r.before_s),
                        _secs(r.after_s),
                        f"{r.ratio:.2f}x" if math.isfinite(r.ratio) else "-",
                        _p_value(r.p_value),
                    ]
                    for r in found.regressions
                ],
                numeric=[2, 3, 4, 5],
                cls="regressions",
            )
        )
    else:
        parts.append(f'<p class="muted">none in the last {found.window} whole-suite runs</p>')
    parts.append(f"<h2>Runs ({len(runs)})</h2>")
    rows = []
    for r in runs:
        counts = r.counts
        verdicts = counts.get("passed", 0) + sum(counts.get(o, 0) for o in FAILURE_VALUES)
        rate = "-" if not verdicts else svg.percent(counts.get("passed", 0) / verdicts)
        rows.append(
            [
                _run_link(r.run_id),
                escape(_stamp(r.start)),
                _secs(None if r.end is None else r.end - r.start),
                escape(r.status),
                "-" if r.exit_code is None else str(r.exit_code),
                str(sum(counts.values())),
                " ".join(f"{_badge(o)} {counts[o]}" for o in OUTCOME_ORDER if counts.get(o)),
                rate,
                escape(((r.git_commit or "")[:10] + " " + (r.git_branch or "")).strip()),
                escape(f"{r.workers} ({r.backend})"),
            ]
        )
    parts.append(
        _table(
            ["run", "started", "took", "status", "exit", "tests", "outcomes", "pass rate", "git", "workers"],
            rows,
            numeric=[2, 4, 5, 7],
            cls="runs",
        )
    )
    return layout("testfleet history", "".join(parts))


def _forecast_note(forecast: Forecast | None) -> str:
    if forecast is None:
        return (
            f'<p class="note">No forecast of the test time: it needs {MIN_POINTS} whole-suite runs '
            "or more.</p>"
        )
    nxt = forecast.points[0]
    return (
        f'<p class="forecast-note">Forecast of the total test time ({escape(forecast.method)}, fitted on '
        f"{forecast.history} runs), shaded after the last run: the next run {_secs(nxt.mean)}, "
        f"80% interval {_secs(nxt.lo80)} to {_secs(nxt.hi80)}, 95% {_secs(nxt.lo95)} to "
        f"{_secs(nxt.hi95)}.</p>"
    )


def _p_value(p: float) -> str:
    return "<1e-16" if p < 1e-16 else f"{p:.2g}"


def run_page(page: RunPage, match: str, outcome: str) -> str:
    run = page.run
    took = None if run.end is None else run.end - run.start
    meta = [
        ("status", escape(run.status) + ("" if run.exit_code is None else f", exit code {run.exit_code}")),
        ("started", escape(_stamp(run.start))),
        ("took", _secs(took)),
        ("host", escape(f"{run.host or '?'} (pid {run.pid or '?'})")),
        ("workers", escape(f"{run.workers} ({run.backend})")),
        ("collected", str(run.collected)),
    ]
    if run.git_commit or run.git_branch:
        meta.append(("git", escape(f"{run.git_commit or '?'} {run.git_branch or ''}".strip())))
    if run.args:
        meta.append(("args", f"<code>{escape(' '.join(run.args))}</code>"))
    if run.parent_run:
        meta.append(("continues", _run_link(run.parent_run)))
    parts = [
        f"<h1>run <code>{escape(run.run_id)}</code></h1>",
        '<table class="meta">' + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in meta) + "</table>",
        '<p class="counts">'
        + " ".join(
            f'<span class="count o-{escape(o)}">{page.counts[o]} {escape(o)}</span>'
            for o in [*OUTCOME_ORDER, *sorted(set(page.counts) - set(OUTCOME_ORDER))]
            if page.counts.get(o)
        )
        + "</p>",
    ]
    if page.failures:
        more = "" if page.failure_total <= len(page.failures) else f", first {len(page.failures)} shown"
        parts.append(f"<h2>Failures ({page.failure_total}{more})</h2>")
        parts.extend(_failure(r) for r in page.failures)
        parts.append(_clusters(page.failures))
    if page.flaky:
        parts.append(
            f"<h2>Flaky ({len(page.flaky)})</h2>"
            + _table(
                ["test", "passed on attempt"],
                [[f"<code>{escape(r.nodeid)}</code>", str(r.attempt)] for r in page.flaky],
            )
        )
    if page.slowest:
        parts.append(
            f"<h2>Slowest {len(page.slowest)}</h2>"
            + _table(
                ["duration", "test", "worker"],
                [
                    [_secs(r.duration), f"<code>{escape(r.nodeid)}</code>", escape(r.worker or "-")]
                    for r in page.slowest
                ],
                numeric=[0],
            )
        )
    if page.workers:
        parts.append(
            f"<h2>Workers ({len(page.workers)})</h2>"
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
                    for w in page.workers
                ],
            )
        )
    options = "".join(
        f'<option value="{o}"{" selected" if o == outcome else ""}>{o or "any outcome"}</option>'
        for o in ["", *OUTCOME_ORDER]
    )
    parts.append(
        f"<h2>Tests ({page.matching} matching)</h2>"
        f'<form class="filter" method="get" action="/runs/{quote(run.run_id)}">'
        f'<input type="search" name="q" value="{escape(match)}" placeholder="part of the test id" size="40">'
        f'<select name="outcome">{options}</select><button type="submit">filter</button></form>'
    )
    if page.matching > len(page.tests):
        parts.append(f'<p class="muted">first {len(page.tests)} shown; filter to narrow</p>')
    parts.append(
        _table(
            ["test", "outcome", "duration", "worker", "attempts", "message"],
            [
                [
                    f"<code>{escape(r.nodeid)}</code>",
                    _badge(r.outcome),
                    _secs(r.duration),
                    escape(r.worker or "-"),
                    str(page.attempts.get(r.nodeid, 1)),
                    escape(r.message or ""),
                ]
                for r in page.tests
            ],
            numeric=[2, 4],
            cls="tests",
        )
    )
    return layout(f"testfleet run {run.run_id}", "".join(parts))


def _failure(r: TestResult) -> str:
    body = f"<pre>{escape(r.failure_text or r.message or '')}</pre>"
    for title, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        if text:
            body += f"<p>Captured {title}</p><pre>{escape(text)}</pre>"
    return (
        f'<details class="failure"><summary>{_badge(r.outcome)} <code class="nodeid">{escape(r.nodeid)}</code>'
        f" &mdash; {escape(r.message or '')}</summary>{body}</details>"
    )


def _clusters(failures: Sequence[TestResult]) -> str:
    from testfleet.analysis.clusters import cluster_failures

    clusters = cluster_failures(list(failures))
    if not clusters:
        return ""
    return f"<h2>Failure clusters ({len(clusters)})</h2>" + _table(
        ["tests", "signature", "outcomes", "members"],
        [
            [
                str(len(c.nodeids)),
                f"<code>{escape(c.signature)}</code>",
                escape(", ".join(c.outcomes)),
                "<br>".join(f"<code>{escape(n)}</code>" for n in c.nodeids[:10]),
            ]
            for c in clusters
        ],
        numeric=[0],
    )


def grid_page(grid: Grid, match: str, last: int) -> str:
    head = "".join(
        f'<th class="run" title="{escape(_stamp(r.start))}"><a href="/runs/{quote(r.run_id)}">'
        f"{escape(r.run_id)}</a></th>"
        for r in grid.runs
    )
    rows = []
    for nodeid, cells in zip(grid.nodeids, grid.cells, strict=True):
        tds = []
        for run, cell in zip(grid.runs, cells, strict=True):
            if cell is None:
                tds.append(f'<td class="cell c-none" title="{escape(run.run_id)}: not run"></td>')
                continue
            outcome, flaky = cell
            cls = "c-flaky" if flaky else f"c-{escape(outcome)}"
            word = f"{outcome} (flaky)" if flaky else outcome
            tds.append(f'<td class="cell {cls}" title="{escape(run.run_id)}: {escape(word)}"></td>')
        rows.append(f'<tr><td class="name" title="{escape(nodeid)}">{escape(nodeid)}</td>{"".join(tds)}</tr>')
    form = (
        f'<form class="filter" method="get" action="/grid"><input type="search" name="q" value="{escape(match)}" '
        f'placeholder="part of the test id" size="40"><input type="number" name="runs" value="{last}" min="1" '
        'max="200"><button type="submit">show</button></form>'
    )
    shown = (
        f"{len(grid.nodeids)} of {grid.total_tests} tests (most failing first), "
        f"last {len(grid.runs)} runs (oldest left)"
    )
    legend = (
        " ".join(f'<span class="badge o-{o}">{o}</span>' for o in ("passed", "failed", "skipped", "xpassed"))
        + ' <span class="badge o-flaky">flaky</span>'
    )
    body = (
        f"<h1>Tests x runs</h1>{form}<p>{escape(shown)}. {legend}</p>"
        f'<div class="grid"><table class="grid-table"><tr><th>test</th>{head}</tr>{"".join(rows)}</table></div>'
    )
    return layout("testfleet tests x runs", body)
