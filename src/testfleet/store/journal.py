"""An append-only journal of a run's results, so ``--resume`` loses nothing the controller
had received.

The results store writes in batches (every couple of seconds, from a thread): a controller
killed with SIGKILL loses the batch not written yet. The journal closes that gap: every loop
round, the results settled in that round are appended to ``<store>.journal/<run_id>.jsonl``
with one ``write`` (no fsync: what a process has written survives its SIGKILL; only a
crash of the machine could lose it). ``--resume`` replays the journals of the run it
continues: results the store lacks are stored then, under their own run, and count as done.
A run that ends normally (its store closed cleanly) removes its journals.

One line per result: a JSON array of the :class:`~testfleet.model.TestResult` fields in
``FIELDS`` order. A torn last line (the process died mid-write) is ignored.

The controller's journal cannot hold what it had not read: results a worker sent that were
still in the socket when the controller died. So each local worker keeps its own journal,
``<store>.journal/<run_id>@<worker>.jsonl`` (path in ``TESTFLEET_JOURNAL``): before it sends
a test's results it appends them, one line ``[nodeid, start, location, keywords, reports]``
(the reports as they go on the wire), with one ``write``. Whatever the controller may have
received is then on disk, whichever process is killed first; ``--resume`` replays both kinds
(:mod:`testfleet.recovery`), a worker's lines only for executions the controller did not record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from testfleet.model import TestResult

FIELDS = (
    "run_id",
    "nodeid",
    "outcome",
    "attempt",
    "worker",
    "start",
    "setup_duration",
    "call_duration",
    "teardown_duration",
    "message",
    "failure_text",
    "stdout",
    "stderr",
    "flaky",
    "final",
)

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=repr)


def journal_path(store_path: str | os.PathLike[str], run_id: str) -> Path:
    return Path(f"{store_path}.journal") / f"{run_id}.jsonl"


def worker_journal_path(journal: Path, worker: str) -> Path:
    """The journal of ``worker`` beside the controller's ``journal`` of the same run."""
    return journal.with_name(f"{journal.stem}@{worker}.jsonl")


def worker_journals(journal: Path) -> dict[str, Path]:
    """The workers' journals of the run whose controller journal is ``journal``, by worker id."""
    prefix = f"{journal.stem}@"
    try:
        names = os.listdir(journal.parent)
    except OSError:
        return {}
    return {
        name[len(prefix) : -len(".jsonl")]: journal.parent / name
        for name in sorted(names)
        if name.startswith(prefix) and name.endswith(".jsonl")
    }


def read_worker_journal(path: Path) -> list[list[Any]]:
    """The entries ``[nodeid, start, location, keywords, reports]`` a worker's journal holds,
    in the order written; a torn line (the worker was killed mid-write) is left out."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(entry, list)
            and len(entry) == 5
            and isinstance(entry[0], str)
            and isinstance(entry[1], (int, float))
            and isinstance(entry[4], list)
        ):
            out.append(entry)
    return out


class Journal:
    """Appends results; :meth:`flush` writes what was added since the last flush."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lines: list[str] = []

    def add(self, r: TestResult) -> None:
        self._lines.append(
            _ENCODER.encode(
                [
                    r.run_id,
                    r.nodeid,
                    r.outcome,
                    r.attempt,
                    r.worker,
                    r.start,
                    r.setup_duration,
                    r.call_duration,
                    r.teardown_duration,
                    r.message,
                    r.failure_text,
                    r.stdout,
                    r.stderr,
                    r.flaky,
                    r.final,
                ]
            )
        )

    def flush(self) -> None:
        if not self._lines or self._fd is None:
            return
        data = ("\n".join(self._lines) + "\n").encode("utf-8", "surrogatepass")
        self._lines.clear()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self, remove: bool = False) -> None:
        if self._fd is None:
            return
        self.flush()
        os.close(self._fd)
        self._fd = None
        if remove:
            discard(self.path)


def read_journal(path: Path) -> list[TestResult]:
    """The results a journal holds (none if there is no journal)."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            values = json.loads(line)
        except ValueError:  # the last line, torn by a kill mid-write
            continue
        if isinstance(values, list) and len(values) == len(FIELDS):
            out.append(TestResult(**dict(zip(FIELDS, values, strict=True))))
    return out


def discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        return
    try:
        path.parent.rmdir()  # the last journal of the store
    except OSError:
        pass
