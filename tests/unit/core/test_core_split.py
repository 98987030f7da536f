"""Parallel collection's pure parts (testfleet.split): the file split every collector computes
alone, and the controller's merge of the K collections."""

from __future__ import annotations

import random

import pytest

from testfleet.split import Split, collection_hash, dedupe, global_indices, merge_order, split


def test_each_file_goes_to_the_collector_with_least_bytes_so_far_ties_to_the_lowest() -> None:
    # totals after each file: [100, 0], [100, 100], [150, 100], [150, 110], [150, 410], [151, 410]
    assert split([100, 100, 50, 10, 300, 1], 2) == [0, 1, 0, 1, 1, 0]
    assert split([5, 5, 5, 5], 3) == [0, 1, 2, 0]
    assert split([7, 7, 7], 1) == [0, 0, 0]


def test_every_collector_computes_the_same_split_and_every_file_has_exactly_one_owner() -> None:
    rng = random.Random(3)
    weights = [rng.randint(0, 50_000) for _ in range(200)]
    for count in (2, 3, 5):
        # Each collector k runs its own Split over the same visit order and keeps the files
        # it is assigned: the K selections must partition the files.
        kept: list[list[int]] = []
        for k in range(count):
            s = Split(count)
            kept.append([seq for seq, w in enumerate(weights) if s.assign(w) == k])
        every = sorted(seq for mine in kept for seq in mine)
        assert every == list(range(len(weights)))
        assert [owner for owner in split(weights, count)] == [
            next(k for k, mine in enumerate(kept) if seq in mine) for seq in range(len(weights))
        ]


def test_the_split_balances_bytes_within_one_file() -> None:
    rng = random.Random(11)
    weights = [rng.randint(100, 20_000) for _ in range(300)]
    for count in (2, 3, 4):
        totals = [0] * count
        for w, k in zip(weights, split(weights, count), strict=True):
            totals[k] += w
        assert max(totals) - min(totals) <= max(weights)


def test_a_split_of_no_collectors_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Split(0)


def test_the_merge_restores_one_collectors_order() -> None:
    # One collector's order: files 0..5, items within a file in order.
    suite = [(seq, f"f{seq}.py::t{j}") for seq in range(6) for j in range(seq % 3 + 1)]
    owners = split([10, 20, 5, 5, 40, 1], 2)
    parts = [[(seq, nid) for seq, nid in suite if owners[seq] == k] for k in range(2)]
    order = merge_order([[[seq] for seq, _ in part] for part in parts])
    merged = [parts[k][pos][1] for k, pos in order]
    assert merged == [nid for _, nid in suite]
    assert collection_hash(merged) == collection_hash([nid for _, nid in suite])
    indices = global_indices(order, [len(p) for p in parts])
    for k, part in enumerate(parts):
        for pos, (_seq, nid) in enumerate(part):
            assert merged[indices[k][pos]] == nid


def test_the_merge_keeps_each_collectors_order_within_a_file() -> None:
    # A plugin reordered collector 0's items of file 3: that order is kept.
    order = merge_order([[[3], [3], [0]], [[1], [2]]])
    assert order == [(0, 2), (1, 0), (1, 1), (0, 0), (0, 1)]


def test_the_merge_orders_by_place_in_the_tree_not_by_visit_order() -> None:
    # pytest visits a directory's files (keys [0, 1], [0, 2]) before its subdirectory's
    # ([0, 0, 0]), but lists the subdirectory's items first: keys sort as the tree does.
    order = merge_order([[[0, 1], [0, 1]], [[0, 2], [0, 0, 0]]])
    assert order == [(1, 1), (0, 0), (0, 1), (1, 0)]


def test_warnings_from_several_collectors_are_reported_once() -> None:
    a = {"message": "x", "lineno": 1}
    b = {"message": "y", "lineno": 2}
    assert dedupe([a, b, dict(a), b]) == [a, b]
