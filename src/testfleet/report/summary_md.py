"""A run as Markdown: the GitHub Actions job summary and the pull-request comment.

Sections, most important first: the counts; new failures (failing here, not failing on the
base run, or, without one, not failing the last time they ran); the other failures; flaky
tests (failed, then passed on a retry); the slowest tests; the comparison with the base run.

The text is kept under a byte limit (GitHub: 1 MiB per step summary, 65,536 characters per
comment): sections are filled in that order, a failure's text is cut to a share of the
limit, a failure whose text no longer fits is listed without it, and a section that cannot
list everything ends with a note saying how many were left out. Pure functions over stored
results (``TestResult``, every attempt); nothing here reads the store or the environment.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from testfleet.analysis.compare import compare, final_results
from testfleet.model import FAILURE_VALUES, OUTCOME_ORDER, TestResult

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's limit per step summary
COMMENT_LIMIT = 64 * 1000  # under GitHub's 65,536 characters per comment, in bytes
SLOWEST = 10
ICONS = {
    "passed": "✅",
    "failed": "❌",
    "error": "💥",
    "crashed": "☠️",
    "timeout": "⏱️",
    "unschedulable": "🚫",
    "not_run": "⏹️",
    "skipped": "⏭️",
    "xfailed": "✔️",
    "xpassed": "❗",
}


@dataclass
class SummaryInput:
    run_id: str
    results: Sequence[TestResult]  # every attempt of the run
    seconds: float | None = None  # wall time of the run
    partial: str | None = None  # e.g. "shard 2/4": the run holds part of the suite
    base_run: str | None = None
    base_label: str | None = None  # e.g. "main"
    base_results: Sequence[TestResult] | None = None
    previous_outcomes: Mapping[str, str] = field(default_factory=dict)  # before this run, when no base
    footer: str | None = None


@dataclass
class Section:
    title: str
    items: list[tuple[str, str]]  # (full text, short text) per entry
    intro: str = ""
    what: str = "entries"


def code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    ticks = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def cell(text: str) -> str:
    return html.escape(" ".join(text.split())).replace("|", "\\|")


def fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


def cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    kept = data[: max(limit - 60, 0)].decode("utf-8", "ignore")
    return f"{kept}\n... ({len(data) - len(kept.encode('utf-8'))} more bytes cut)"


def _failure_item(r: TestResult, text_limit: int, was: str | None) -> tuple[str, str]:
    icon = ICONS.get(r.outcome, "")
    head = f"- {icon} **{r.outcome}** {code(r.nodeid)}"
    if was:
        head += f" (was {was})"
    message = " ".join((r.message or "").split())
    short = head + (f" — {cell(message[:300])}" if message else "")
    body = r.failure_text or r.message or ""
    if not body:
        return short, short
    full = (
        f"{short}\n  <details><summary>details</summary>\n\n{fenced(cut(body, text_limit))}\n\n  </details>"
    )
    return full, short


def build_sections(inp: SummaryInput, text_limit: int) -> tuple[str, list[Section]]:
    attempts: dict[str, list[TestResult]] = {}
    for r in inp.results:
        attempts.setdefault(r.nodeid, []).append(r)
    final = final_results(inp.results)
    counts: dict[str, int] = {}
    for r in final.values():
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    flaky = sorted((r for r in final.values() if r.flaky), key=lambda r: r.nodeid)
    failing = sorted((r for r in final.values() if r.outcome in FAILURE_VALUES), key=lambda r: r.nodeid)
    base_final = final_results(inp.base_results) if inp.base_results is not None else None

    def before(nodeid: str) -> str | None:
        if base_final is not None:
            old = base_final.get(nodeid)
            return old.outcome if old else None
        return inp.previous_outcomes.get(nodeid)

    history = base_final is not None or bool(inp.previous_outcomes)
    new = [r for r in failing if before(r.nodeid) not in FAILURE_VALUES] if history else []
    old = [r for r in failing if before(r.nodeid) in FAILURE_VALUES] if history else failing
    bad = bool(failing)
    total = len(final)
    parts = [f"{counts[o]} {o}" for o in OUTCOME_ORDER if counts.get(o)]
    if flaky:
        parts.append(f"{len(flaky)} flaky")
    title = f"## {'❌' if bad else '✅'} testfleet: {', '.join(parts) or 'no tests'}"
    lines = [
        title,
        "",
        f"Run `{inp.run_id}`: {total} tests"
        + (f" in {inp.seconds:.1f} s" if inp.seconds is not None else "")
        + (f" ({inp.partial}: part of the suite)" if inp.partial else "")
        + ".",
    ]
    lines += ["", "| outcome | tests |", "|---|---:|"]
    lines += [f"| {ICONS.get(o, '')} {o} | {counts[o]} |" for o in OUTCOME_ORDER if counts.get(o)]
    if flaky:
        lines.append(f"| 🔁 flaky (passed on a retry) | {len(flaky)} |")
    header = "\n".join(lines) + "\n"

    sections: list[Section] = []
    if new:
        label = (
            "not failing on the base run" if base_final is not None else "not failing the last time they ran"
        )
        sections.append(
            Section(
                f"New failures ({len(new)})",
                [_failure_item(r, text_limit, before(r.nodeid)) for r in new],
                intro=f"Failing in this run, {label}.",
                what="failures",
            )
        )
    if old:
        sections.append(
            Section(
                f"Still failing ({len(old)})" if history else f"Failures ({len(old)})",
                [_failure_item(r, text_limit, None) for r in old],
                intro="Failing here and before." if history else "",
                what="failures",
            )
        )
    if flaky:
        rows = []
        for r in flaky:
            tries = attempts.get(r.nodeid, [r])
            first = next((a for a in tries if a.outcome in FAILURE_VALUES), tries[0])
            row = (
                f"| {code(r.nodeid)} | {len(tries)} | {first.outcome}: {cell((first.message or '')[:300])} |"
            )
            rows.append((row, row))
        sections.append(
            Section(
                f"Flaky tests ({len(flaky)})",
                rows,
                intro="Failed, then passed on a retry.\n\n| test | attempts | first failure |\n"
                "|---|---:|---|",
                what="flaky tests",
            )
        )
    slow = sorted((r for r in final.values() if r.duration > 0), key=lambda r: (-r.duration, r.nodeid))[
        :SLOWEST
    ]
    if slow:
        rows = [(f"| {code(r.nodeid)} | {r.duration:.2f} | {r.outcome} |",) * 2 for r in slow]
        sections.append(
            Section(
                "Slowest tests",
                [(a, b) for a, b in rows],
                intro="| test | seconds | outcome |\n|---|---:|---|",
                what="tests",
            )
        )
    if base_final is not None and inp.base_results is not None:
        sections.append(_comparison(inp))
    return header, sections


def _comparison(inp: SummaryInput) -> Section:
    assert inp.base_results is not None
    cmp = compare(inp.base_results, inp.results)
    base = f"`{inp.base_run}`" + (f" on {inp.base_label}" if inp.base_label else "")
    intro = (
        f"Base run {base}: {cmp.base_seconds:.1f} s of test time, this run {cmp.head_seconds:.1f} s. "
        f"{len(cmp.new_failures)} newly failing, {len(cmp.fixed)} fixed, {len(cmp.still_failing)} still failing, "
        f"{len(cmp.added)} new tests"
        + ("" if inp.partial else f", {len(cmp.removed)} gone")
        + f", {len(cmp.slower)} slower."
    )
    items = [(f"- fixed: {code(c.nodeid)} ({c.base_outcome} → {c.head_outcome})",) * 2 for c in cmp.fixed]
    items += [
        (f"- slower: {code(c.nodeid)} {c.base_seconds or 0:.2f} s → {c.head_seconds or 0:.2f} s",) * 2
        for c in cmp.slower
    ]
    return Section("Compared with the base run", [(a, b) for a, b in items], intro=intro, what="changes")


def size_label(limit: int) -> str:
    return f"{limit / 1048576:.0f} MiB" if limit >= 1000 * 1024 else f"{limit / 1000:.0f} KB"


def render(inp: SummaryInput, limit: int = STEP_SUMMARY_LIMIT) -> str:
    """The summary as Markdown, at most ``limit`` bytes (UTF-8)."""
    text_limit = max(limit // 16, 200)
    label = size_label(limit)
    header, sections = build_sections(inp, text_limit)
    footer = f"\n{inp.footer}\n" if inp.footer else ""
    out = [header]
    used = len(header.encode()) + len(footer.encode())
    reserve = 200  # for each section's note
    for sec in sections:
        head = f"\n### {sec.title}\n\n" + (f"{sec.intro}\n" if sec.intro else "")
        if sec.intro and not sec.intro.endswith("|"):
            head += "\n"  # a list after a paragraph
        if used + len(head.encode()) + reserve > limit:
            note = f"\n_{sec.title}: left out, the summary is limited to {label}._\n"
            if used + len(note.encode()) <= limit:
                out.append(note)
                used += len(note.encode())
            continue
        out.append(head)
        used += len(head.encode())
        shown = cut_details = 0
        for full, short in sec.items:
            for text, is_short in ((full, False), (short, True)):
                size = len(text.encode()) + 1
                if used + size + reserve <= limit:
                    out.append(text + "\n")
                    used += size
                    shown += 1
                    cut_details += is_short and full != short
                    break
            else:
                break
        notes = []
        if shown < len(sec.items):
            notes.append(f"{len(sec.items) - shown} more {sec.what} not shown")
        if cut_details:
            notes.append(f"the details of {cut_details} left out")
        if notes:
            note = (
                f"\n_… {'; '.join(notes)}: the summary is limited to {label} "
                f"(`testfleet show {inp.run_id}` has everything)._\n"
            )
            out.append(note)
            used += len(note.encode())
    out.append(footer)
    text = "".join(out)
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")
