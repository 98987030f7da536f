"""Parallel collection (``--collectors K``): which collector collects which file, and how
the controller merges the K collections into one.

Every collector visits the same files in the same order (pytest's collection order does not
depend on which files a collector skips), so each can decide the split alone, without
knowing the file list first: a file goes to the collector with the least weight so far (its
size in bytes, or its tests' durations from the store), ties to the lowest index. A
collector collects its own files and drops the others before importing them.

The merge orders the items by the place of their file in the collection tree, then by their
position in their collector's list: one collector's order for the same suite (a plugin that
reorders items reorders within each collector's part).

Pure functions, no pytest: the collector (``worker/collector.py``) and the controller
(``controller/collection.py``) both use them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any


def collection_hash(nodeids: Sequence[str]) -> str:
    """What every worker sends in ``hello``: the run's collection, as one short digest."""
    return hashlib.sha256("\n".join(nodeids).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Split:
    """Greedy assignment of files to ``count`` collectors, one file at a time in visit order.

    ``assign(weight)`` returns the collector of the next file: the one with the smallest
    total weight so far, the lowest index on a tie. The same calls give the same answers in
    every collector. Attributes: ``totals`` (weight per collector), ``files`` (files assigned
    so far, the next file's sequence number)."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        self.totals = [0.0] * count
        self.files = 0

    def assign(self, weight: float) -> int:
        totals = self.totals
        k = min(range(len(totals)), key=totals.__getitem__)  # first minimum: the lowest index
        totals[k] += max(weight, 0.0)
        self.files += 1
        return k


def split(weights: Sequence[float], count: int) -> list[int]:
    """The collector of each file, for files of these weights in visit order."""
    s = Split(count)
    return [s.assign(w) for w in weights]


def merge_order(parts: Sequence[Sequence[Sequence[int]]]) -> list[tuple[int, int]]:
    """The merged order of K collections: ``parts[k]`` holds the key of each item of
    collector ``k``, in its order: the place of the item's file in the collection tree (the
    position of each node among its parent's children, from the root). Returns
    ``(k, position)`` for every item, sorted by (key, collector, position): one collector's
    order for the same suite."""
    keyed = [(list(key), k, pos) for k, keys in enumerate(parts) for pos, key in enumerate(keys)]
    keyed.sort()
    return [(k, pos) for _seq, k, pos in keyed]


def global_indices(order: Sequence[tuple[int, int]], sizes: Sequence[int]) -> list[list[int]]:
    """For each collector, the global index of each of its items (``order`` from
    :func:`merge_order`, ``sizes``: items per collector)."""
    out = [[0] * n for n in sizes]
    for g, (k, pos) in enumerate(order):
        out[k][pos] = g
    return out


def dedupe(values: Sequence[Any]) -> list[Any]:
    """``values`` without repeats (the same warning from several collectors), first kept."""
    import json

    seen: set[str] = set()
    out = []
    for v in values:
        key = json.dumps(v, sort_keys=True, default=repr)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out
