"""testfleet's part of the terminal summary: outcomes pytest has no word for, flaky tests,
lost workers, and one line of counts that add up to the number collected.

Crashed, timed-out and unschedulable tests also go into pytest's "short test summary info"
(``CRASHED nodeid - message``), which CI scripts grep. Their stack dumps are folded to the
test's own frames (report/frames.py) unless ``-vv``. After Ctrl-C the tests not run are
counted, listed only with ``-v``, and the ``testfleet run --resume`` line is printed."""

from __future__ import annotations

import copy
from typing import Any

from testfleet.model import FAILURE_VALUES, OUTCOME_ORDER, Outcome
from testfleet.report.frames import fold_stacks

SHOWN_IN_FULL = (Outcome.CRASHED.value, Outcome.TIMEOUT.value, Outcome.UNSCHEDULABLE.value)
MAX_LISTED = 50


def write_summary(tr: Any, state: Any) -> None:
    if not state.items and not state.internal_error:
        return
    include_in_short_summary(tr)
    by_outcome: dict[str, list[Any]] = {}
    for res in state.final.values():
        by_outcome.setdefault(res.outcome, []).append(res)
    special = [r for o in SHOWN_IN_FULL for r in by_outcome.get(o, [])]
    if special:
        tr.write_sep("=", "testfleet: crashed, timed-out and unschedulable tests", red=True)
        for res in special:
            tr.write_sep("_", f"{res.nodeid} [{res.outcome.upper()}]", red=True)
            text = res.failure_text or res.message or ""
            tr.write_line(text if tr.verbosity >= 2 else fold_stacks(text))
    flaky = [r for r in state.final.values() if r.flaky]
    if flaky:
        tr.write_sep("=", "testfleet: flaky tests (failed, then passed on a retry)", yellow=True)
        for res in flaky:
            first = state.attempts[_index(state, res.nodeid)][0]
            tr.write_line(f"FLAKY {res.nodeid} - attempt 1 {first.outcome}: {first.message or ''}".rstrip())
    not_run = by_outcome.get(Outcome.NOT_RUN.value, [])
    if not_run:
        tr.write_sep("=", f"testfleet: {len(not_run)} tests not run", yellow=True)
        if tr.verbosity >= 1:
            for res in not_run[:MAX_LISTED]:
                tr.write_line(f"NOT RUN {res.nodeid} - {res.message or ''}".rstrip())
            if len(not_run) > MAX_LISTED:
                tr.write_line(
                    f"... and {len(not_run) - MAX_LISTED} more (see --report-json or testfleet show)"
                )
        else:
            reasons: dict[str, int] = {}
            for res in not_run:
                reasons[res.message or "not run"] = reasons.get(res.message or "not run", 0) + 1
            for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
                tr.write_line(f"{n} not run: {reason}")
            tr.write_line("(-v lists them)")
    for lost in state.lost_workers:
        tr.write_line(
            f"testfleet: lost {lost.get('node') or lost.get('worker')}: {lost.get('reason', '')}; "
            f"re-queued: {', '.join(lost.get('requeued', [])) or 'none'}"
        )
    counts = state.counts()
    parts = [f"{counts[o]} {o}" for o in OUTCOME_ORDER if counts.get(o)]
    total = sum(counts.values())
    skipped_modules = sum(1 for c in getattr(state, "collection", []) if c["outcome"] == "skipped")
    line = (
        f"testfleet: {len(state.items)} collected: {', '.join(parts) or 'nothing run'}"
        + ("" if total == len(state.items) else f" (only {total} accounted for!)")
        + (f"; {skipped_modules} more skipped at collection" if skipped_modules else "")
    )
    width = int(getattr(tr._tw, "fullwidth", 80))
    # Wrapped only on a terminal: a CI log keeps the one line scripts grep.
    if len(line) + 4 <= width or not getattr(tr, "isatty", False):
        tr.write_sep("-", line)
    else:  # too long for one line with its separator: items wrap, none is cut
        for text in wrap_line(line, width):
            tr.write_line(text)
    if state.resumed_from:
        tr.write_line(
            f"testfleet: resumed run {state.resumed_from}: {len(state.resume_done)} tests were "
            f"already settled there and did not run again"
        )
    if state.settings.db == "none":
        pass
    elif state.store_error:
        tr.write_line(f"testfleet: results not stored: {state.store_error}", yellow=True)
    elif state.store is not None or state.store_error is None:
        stored = f"testfleet: run {state.run_id} stored in"
        where = str(getattr(state.store, "path", "the results store"))
        if len(stored) + 1 + len(where) <= int(getattr(tr._tw, "fullwidth", 80)) or not getattr(
            tr, "isatty", False
        ):
            tr.write_line(f"{stored} {where}")
        else:
            tr.write_line(stored)
            tr.write_line(f"  {where}")
    if not_run and state.store is not None and not state.store_error:
        tr.write_line(
            f"testfleet: to run the {len(not_run)} tests left: testfleet run --resume {state.run_id}",
            bold=True,
        )
    if state.internal_error:
        tr.write_line(state.internal_error, red=True)
    _annotate(tr, state)


def wrap_line(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken after ", " or "; " (never inside an
    item), continuation lines indented by two spaces."""
    import re

    items = re.split(r"(?<=[,;]) ", text)
    lines = [items[0]]
    for item in items[1:]:
        if len(lines[-1]) + 1 + len(item) <= width:
            lines[-1] += " " + item
        else:
            lines.append("  " + item)
    return lines


def include_in_short_summary(tr: Any) -> None:
    """Make pytest's short test summary (written after this summary) list crashed, timed-out
    and unschedulable tests beside the failed ones: ``CRASHED nodeid - message``."""
    if getattr(tr, "_testfleet_short_summary", False) or "f" not in getattr(tr, "reportchars", ""):
        return
    original = tr.short_test_summary

    def short_test_summary() -> None:
        special = [_headline(rep) for cat in SHOWN_IN_FULL for rep in tr.stats.get(cat, [])]
        if not special:
            original()
            return
        failed = tr.stats.get("failed")
        tr.stats["failed"] = [*(failed or []), *special]
        try:
            original()
        finally:
            if failed is None:
                del tr.stats["failed"]
            else:
                tr.stats["failed"] = failed

    tr.short_test_summary = short_test_summary
    tr._testfleet_short_summary = True


def _headline(rep: Any) -> Any:
    """A copy of a crashed/timed-out/unschedulable report whose text is its first line: pytest
    prints a string report whole in the short summary on CI (``CI`` set) or at -vv, and these
    carry the stacks of every thread, which belong in the failure section above."""
    if not isinstance(rep.longrepr, str):
        return rep
    short = copy.copy(rep)
    short.longrepr = next((ln for ln in rep.longrepr.splitlines() if ln.strip()), "")
    return short


def _annotate(tr: Any, state: Any) -> None:
    """Failure annotations for the CI system the run is on (report/ci.py)."""
    import os

    from testfleet.report import ci

    kind = ci.detect(state.settings.ci, os.environ)
    if kind is None:
        return
    failures = []
    for idx, res in state.final.items():
        if res.outcome not in FAILURE_VALUES:
            continue
        loc = state.locations.get(idx)
        path = loc[0] if loc else ci.path_of(res.nodeid)
        line = loc[1] + 1 if loc and loc[1] is not None else None
        new = state.last_outcomes.get(res.nodeid) not in FAILURE_VALUES
        failures.append(ci.Failure(res.nodeid, res.outcome, res.message or res.outcome, path, line, new))
    for text in ci.annotation_lines(kind, failures):
        tr.write_line(text)


def _index(state: Any, nodeid: str) -> int:
    for i, info in enumerate(state.items):
        if info["nodeid"] == nodeid:
            return i
    raise KeyError(nodeid)
