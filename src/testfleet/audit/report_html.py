"""Self-contained HTML report (inline CSS, no scripts, no external resources)."""

from __future__ import annotations

from collections import Counter
from html import escape

from testfleet.audit.model import AuditResult, score_text

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.measured-pass{color:#176f2c;font-weight:600}.measured-fail{color:#b00020;font-weight:600}
.not-measured{color:#777}.high{color:#b00020}.medium{color:#a15c00}.low{color:#555}code{background:#f6f6f6}
details{margin:.3em 0}summary{cursor:pointer}"""


def _pct(x: float | None) -> str:
    return "not measured" if x is None else f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(result: AuditResult) -> str:
    m = result.measurement
    by_rule = Counter(f.rule for f in result.findings)
    score = result.score_text
    parts = [
        f"<h1>Test suite audit</h1><p><code>{escape(result.root)}</code></p>",
        f"<p><b>Score: {escape(score)}</b> &middot; {len(result.files)} files &middot; "
        f"{len(result.tests)} tests &middot; {len(result.findings)} findings &middot; "
        f"branch coverage {_pct(m.branch_rate)} &middot; mutation score {_pct(m.mutation_score)}</p>",
        "<h2>Readiness checklist</h2>",
        _table(
            ["item", "status", "value"],
            [
                [escape(c.title), f'<span class="{c.status}">{escape(c.status)}</span>', escape(c.value)]
                for c in result.checklist
            ],
        ),
        "<h2>Rules</h2>",
        _table(
            ["rule", "severity", "count", "definition"],
            [
                [
                    f"<code>{r.id}</code>",
                    f'<span class="{r.severity.value}">{r.severity.value}</span>',
                    str(by_rule.get(r.id, 0)),
                    escape(r.definition),
                ]
                for r in result.rules
            ],
        ),
        "<h2>Missing categories</h2><ul>"
        + "".join(
            f"<li><b>{escape(c.category)}</b>: searched for {escape(c.searched_for)}</li>"
            for c in result.missing
        )
        + "</ul>",
    ]
    if m.components:
        parts.append(
            "<h2>Components</h2>"
            + _table(
                ["component", "kind", "lines", "branches", "mutation score"],
                [
                    [
                        f"<code>{escape(c.name)}</code>",
                        c.kind,
                        _pct(c.line_rate),
                        _pct(c.branch_rate),
                        _pct(c.mutation_score),
                    ]
                    for c in m.components
                ],
            )
        )
    if m.problems:
        parts.append(
            "<h2>Not measured, and why</h2><ul>"
            + "".join(f"<li>{escape(p)}</li>" for p in m.problems)
            + "</ul>"
        )
    parts.append("<h2>Files</h2>")
    for fr in sorted(result.files, key=lambda f: f.path):
        fscore = "skipped" if fr.error else score_text(fr.score, fr.score_high)
        rows = [
            [
                str(f.line),
                f'<span class="{f.severity}">{escape(f.rule)}</span>',
                f"<code>{escape(f.test or '(file)')}</code>",
                escape(f.message),
            ]
            for f in fr.findings
        ]
        tests = ", ".join(f"{escape(t.test)} [{escape('/'.join(t.types))}]" for t in fr.tests[:200])
        body = (
            (f"<p>{escape(fr.error)}</p>" if fr.error else "")
            + (_table(["line", "rule", "test", "message"], rows) if rows else "<p>no findings</p>")
            + f"<p><small>{tests}</small></p>"
        )
        parts.append(
            f"<details><summary><code>{escape(fr.path)}</code> &mdash; {escape(fscore)} "
            f"({len(fr.tests)} tests, {len(fr.findings)} findings)</summary>{body}</details>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>testfleet audit</title>'
        f"<style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n"
    )
