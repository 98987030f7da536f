"""Failure clusters: failures that are probably one problem, grouped by their signature.

A signature is a failure's one-line message with what varies between occurrences of the same
problem taken out: numbers (``#``), hex addresses (``<addr>``) and ids (``<id>``), quoted values (``'…'``),
temporary paths (``/tmp/…``). "AssertionError: assert 3 == 4" and "AssertionError: assert 7 == 9"
share ``AssertionError: assert # == #``; "Crashed: worker w1 (pid 812) killed by signal 11" and
its twin on w0 share one signature. Pure functions; ``testfleet show`` renders them.

A cluster's ``id`` is a hash of its signature, so the same problem keeps its id across runs;
:func:`new_cluster_ids` says which clusters of a run no earlier run had.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from testfleet.model import FAILURE_VALUES, TestResult

_RULES = [
    (re.compile(r"0x[0-9a-fA-F]+"), "<addr>"),
    (re.compile(r"\b[0-9a-f]{8,}\b"), "<id>"),  # hashes, run ids, uuids' parts
    (re.compile(r"(?:/tmp|/var/folders|/private/var)/\S*"), "/tmp/…"),
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r'"[^"]*"'), '"…"'),
    (re.compile(r"\d+"), "#"),
    (re.compile(r"\s+"), " "),
]
MAX_SIGNATURE = 200


def signature(outcome: str, message: str | None) -> str:
    text = (message or outcome).strip()
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text[:MAX_SIGNATURE]


@dataclass(frozen=True)
class Cluster:
    signature: str
    nodeids: tuple[str, ...]
    outcomes: tuple[str, ...]  # distinct outcomes in it, sorted
    example: str  # one member's message, as it was

    @property
    def id(self) -> str:
        return cluster_id(self.signature)


def cluster_id(sig: str) -> str:
    """A stable 8-hex-digit id of a signature (the same in every run and every store)."""
    return hashlib.sha1(sig.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def new_cluster_ids(
    clusters: Iterable[Cluster], earlier_failures: Iterable[tuple[str, str | None]]
) -> set[str]:
    """Ids of ``clusters`` whose signature no (outcome, message) of earlier runs has."""
    seen = {cluster_id(signature(outcome, message)) for outcome, message in earlier_failures}
    return {c.id for c in clusters if c.id not in seen}


def cluster_failures(results: Iterable[TestResult], min_size: int = 2) -> list[Cluster]:
    """Clusters of at least ``min_size`` final failing results, biggest first."""
    groups: dict[str, list[TestResult]] = {}
    for r in results:
        if r.final and r.outcome in FAILURE_VALUES:
            groups.setdefault(signature(r.outcome, r.message), []).append(r)
    out = [
        Cluster(
            sig,
            tuple(sorted(r.nodeid for r in members)),
            tuple(sorted({r.outcome for r in members})),
            members[0].message or members[0].outcome,
        )
        for sig, members in groups.items()
        if len(members) >= min_size
    ]
    out.sort(key=lambda c: (-len(c.nodeids), c.signature))
    return out
