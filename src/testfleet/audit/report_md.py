"""Markdown report, written to read like a human audit: verdict first, then evidence."""

from __future__ import annotations

from collections import Counter

from testfleet.audit.model import AuditResult, ComponentReport, score_text
from testfleet.audit.score import WEIGHTS

_STATUS = {"measured-pass": "PASS", "measured-fail": "FAIL", "not-measured": "not measured"}


def _pct(x: float | None) -> str:
    return "not measured" if x is None else f"{100 * x:.1f}%"


def _component_rows(comps: list[ComponentReport], limit: int) -> list[str]:
    rows = ["| component | kind | lines | branches | mutants | mutation score |", "|---|---|---|---|---|---|"]
    for c in comps[:limit]:
        mutants = f"{c.killed}/{c.killed + c.survived} killed" if c.killed + c.survived else "-"
        rows.append(
            f"| `{c.name}` | {c.kind} | {_pct(c.line_rate)} | {_pct(c.branch_rate)} | {mutants} | "
            f"{_pct(c.mutation_score)} |"
        )
    if len(comps) > limit:
        rows.append(f"| ... {len(comps) - limit} more in the JSON report | | | | | |")
    return rows


def render(result: AuditResult, max_findings_per_file: int = 50) -> str:
    m = result.measurement
    tests, findings = result.tests, result.findings
    by_rule = Counter(f.rule for f in findings)
    types = Counter(ty for t in tests for ty in t.types)
    out = [
        f"# Test suite audit: `{result.root}`",
        "",
        f"**Score: {result.score_text}** over {len(result.files)} files and {len(tests)} tests; "
        f"{len(findings)} findings.",
        "",
    ]
    if result.score is not None:
        subs = ", ".join(
            f"{k} {'not measured' if v is None else f'{v:.2f}'} (weight {WEIGHTS[k]:.2f})"
            for k, v in result.subscores.items()
        )
        out += [
            f"Sub-scores: {subs}."
            + (
                f" Capped at {result.score_cap:.1f} by the checklist's FAIL items."
                if result.score_cap < 10
                else ""
            ),
            "",
        ]
    if m.ran:
        out.append(
            f"Measured run via {m.via}: exit code {m.exit_code}; line coverage {_pct(m.line_rate)}, "
            f"branch coverage {_pct(m.branch_rate)}; mutation score {_pct(m.mutation_score)}"
            + (f" ({m.mutants_killed}/{m.mutants_run} mutants killed)." if m.mutants_run else ".")
        )
    else:
        out.append(
            "Static audit only: coverage, executed checks, durations, flakiness and mutation score "
            "were not measured (use `--run` / `--mutate`)."
        )
    out += ["", "## Readiness checklist", "", "| item | status | value |", "|---|---|---|"]
    out += [f"| {c.title} | {_STATUS[c.status]} | {c.value} |" for c in result.checklist]
    out += ["", "## Findings by rule", "", "| rule | severity | count | definition |", "|---|---|---|---|"]
    for r in result.rules:
        out.append(f"| `{r.id}` | {r.severity.value} | {by_rule.get(r.id, 0)} | {r.definition} |")
    out += ["", "## Test types", ""]
    out += [f"- {ty}: {n}" for ty, n in types.most_common()] or ["- (no tests)"]
    out += ["", "## Missing categories", ""]
    out += [f"- **{mc.category}**: none found; searched for {mc.searched_for}." for mc in result.missing] or [
        "- none: every category has at least one test."
    ]
    if m.components:
        out += ["", "## Components", ""] + _component_rows(m.components, 40)
    if m.pseudo_tested:
        out += [
            "",
            "## Pseudo-tested functions",
            "",
            "No covering test failed when the body was replaced by a default return:",
            "",
        ]
        out += [f"- `{p}`" for p in m.pseudo_tested[:50]]
    if m.zero_check_passes:
        out += ["", "## Passed without executing a check", ""]
        out += [f"- `{t}`" for t in m.zero_check_passes[:50]]
        if len(m.zero_check_passes) > 50:
            out.append(f"- ... {len(m.zero_check_passes) - 50} more")
    if m.problems:
        out += ["", "## Not measured, and why", ""] + [f"- {p}" for p in m.problems]
    out += [
        "",
        "## Files",
        "",
        "Score = 10 x sum of weight x sub-score; an unmeasured sub-score counts 0 at the "
        "low end and 1 at the high end (weights: "
        + ", ".join(f"{k} {v}" for k, v in WEIGHTS.items())
        + "; see docs/audit.md).",
        "",
    ]
    for fr in sorted(result.files, key=lambda f: (f.score if f.score is not None else 11, f.path)):
        out.append(f"### `{fr.path}`: {score_text(fr.score, fr.score_high)}")
        out.append("")
        if fr.error:
            out += [f"Skipped: {fr.error}.", ""]
            continue
        ftypes = Counter(ty for t in fr.tests for ty in t.types)
        subs = ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in fr.subscores.items())
        out.append(
            f"{len(fr.tests)} tests ({', '.join(f'{k} {v}' for k, v in ftypes.most_common())}); "
            f"sub-scores: {subs}."
        )
        out.append("")
        for f in fr.findings[:max_findings_per_file]:
            where = f"`{f.test}`" if f.test else "file"
            out.append(f"- line {f.line}: **{f.rule}** ({f.severity}) {where}: {f.message}")
        if len(fr.findings) > max_findings_per_file:
            out.append(f"- ... {len(fr.findings) - max_findings_per_file} more in the JSON report")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
