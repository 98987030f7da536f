"""What the workers of a killed run had finished, read back from their journals for ``--resume``.

The controller's journal (``store/journal.py``) holds what it had read; a worker's journal
holds every result that worker produced, written before it was sent (``worker/journal.py``).
An execution the controller recorded (stored or journaled) is known by its test, its worker
and its start time, the same float on both sides: the worker stamps ``start`` and the
controller keeps that stamp. A worker's line is used only for an execution the controller
did not record, so nothing is stored twice, and never for a test the controller had
already given a final outcome. It becomes the test's next attempt, final or a counted retry
by the same rule as in the run (``run_state.record_attempt``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from testfleet.model import Outcome, TestResult
from testfleet.outcomes import RETRYABLE, captured, message_of, outcome_of
from testfleet.rebuild import fallback_location, rebuild
from testfleet.store.journal import journal_path, read_journal, read_worker_journal, worker_journals


def _key(nodeid: str, worker: str | None, start: float | None) -> tuple[str, str | None, float | None]:
    return nodeid, worker, None if start is None else round(float(start), 6)


def unrecorded(
    journals: Mapping[str, Sequence[list[Any]]], known: Iterable[TestResult]
) -> list[tuple[str, list[Any]]]:
    """``(worker, entry)`` for each execution in the workers' ``journals`` (by worker id) that
    ``known`` (what the controller recorded) lacks, each once, in the order they started."""
    seen = {_key(r.nodeid, r.worker, r.start) for r in known}
    out: list[tuple[str, list[Any]]] = []
    for worker, entries in journals.items():
        for entry in entries:
            key = _key(entry[0], worker, entry[1])
            if key not in seen:
                seen.add(key)
                out.append((worker, entry))
    out.sort(key=lambda we: float(we[1][1]))
    return out


def result_of(config: pytest.Config, run_id: str, worker: str, entry: list[Any]) -> TestResult | None:
    """The result a worker's journal ``entry`` stands for, as the controller would have made
    it from the same ``done`` message; None if the reports do not make one (a crash)."""
    nodeid, start, location, keywords, entries = entry
    where = (
        (location[0], location[1], location[2])
        if isinstance(location, list) and len(location) == 3
        else fallback_location(nodeid)
    )
    reports = rebuild(config, nodeid, where, keywords or [], entries)
    outcome = outcome_of(reports)
    if outcome == Outcome.CRASHED:
        return None
    durations = {r.when: r.duration for r in reports}
    text = "\n".join(r.longreprtext for r in reports if r.failed) or None
    return TestResult(
        run_id=run_id,
        nodeid=nodeid,
        outcome=outcome.value,
        worker=worker,
        start=float(start),
        setup_duration=durations.get("setup", 0.0),
        call_duration=durations.get("call", 0.0),
        teardown_duration=durations.get("teardown", 0.0),
        message=message_of(reports, outcome),
        failure_text=text,
        stdout=captured(reports, "stdout") or None,
        stderr=captured(reports, "stderr") or None,
    )


def recovered(
    config: pytest.Config,
    run_id: str,
    journals: Mapping[str, Sequence[list[Any]]],
    known: Iterable[TestResult],
    retries: int,
) -> list[TestResult]:
    """The results of run ``run_id`` that only its workers' ``journals`` hold, numbered after
    the attempts ``known`` for each test. ``retries``: how many retries an attempt that failed
    may have (0 under ``--maxfail``)."""
    known = list(known)
    attempts: dict[str, list[TestResult]] = {}
    for r in sorted(known, key=lambda r: r.attempt):
        attempts.setdefault(r.nodeid, []).append(r)
    out: list[TestResult] = []
    for worker, entry in unrecorded(journals, known):
        prior = attempts.setdefault(entry[0], [])
        if any(p.final for p in prior):  # the controller gave it its outcome: that one stands
            continue
        try:
            result = result_of(config, run_id, worker, entry)
        except Exception:  # noqa: BLE001 - a line that cannot be read back (a plugin gone): it runs again
            result = None
        if result is None:
            continue
        result.attempt = max((p.attempt for p in prior), default=0) + 1
        if result.outcome in RETRYABLE and result.attempt <= retries:
            result.final = False
        elif result.outcome == Outcome.PASSED.value and any(p.outcome in RETRYABLE for p in prior):
            result.flaky = True
        prior.append(result)
        out.append(result)
    return out


def replay_journals(
    config: pytest.Config, store: Any, chain: Sequence[str], retries: int
) -> tuple[list[TestResult], list[Path]]:
    """Results in the journals of the runs ``chain`` that ``store`` lacks: stored now, under
    their own runs, and returned with the journal files read. The controller's journal first,
    then its workers' for what the controller had not recorded (:func:`recovered`)."""
    path = getattr(store, "path", None)
    if path is None:
        return [], []
    missing: list[TestResult] = []
    read: list[Path] = []
    for rid in chain:
        jpath = journal_path(path, rid)
        journaled = read_journal(jpath)
        by_worker = worker_journals(jpath)
        if not journaled and not by_worker:
            continue
        read += [jpath, *by_worker.values()]
        known = store.results(rid)
        keys = {(r.nodeid, r.attempt) for r in known}
        for r in journaled:  # what the store lacks, each (test, attempt) once
            if (r.nodeid, r.attempt) not in keys:
                keys.add((r.nodeid, r.attempt))
                known.append(r)
                missing.append(r)
        if by_worker:
            workers = {wid: read_worker_journal(p) for wid, p in by_worker.items()}
            missing += recovered(config, rid, workers, known, retries)
    if missing:
        store.add_results(missing)
    return missing, read
