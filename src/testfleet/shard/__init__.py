"""Splitting a suite into K shards by duration, for K CI jobs that each run one shard.

``testfleet run --shard I/K`` runs shard I (1-based) of K. Every job collects the same suite
and computes the same plan from the same inputs (the collected node ids in order, their wide
fixture scopes and the stored durations), so the K shards are disjoint and together are the
whole suite, with no coordination between the jobs.

Algorithm
---------
1. **Estimates.** A test's estimate is its duration from history (the durations file given
   with ``--durations-file``, else the results store). A test with no history borrows the
   median of its parametrized siblings, then of its parent (class or module), then of its
   module, then of all known tests; with no history at all every test counts 1 (the shards
   then have equal numbers of tests).
2. **Units.** Consecutive tests that share a module- or class-scoped fixture form one unit,
   so the fixture is set up in one job only. Every other test is a unit of its own.
3. **Longest first (LPT).** Units go, longest first (ties: collection order), to the shard
   with the least estimated work so far (ties: the lowest shard number).
4. **Only where it costs nothing.** The plan with units is kept when its longest shard is no
   longer than the plan of single tests (within ``GROUP_TOLERANCE``). Otherwise the largest
   unit is split into single tests and the plan made again, until it is.

Within a shard the tests keep their collection order. Nothing here imports pytest.
"""

from __future__ import annotations

import heapq
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from testfleet.errors import UsageError
from testfleet.nodeids import derived

GROUP_TOLERANCE = 0.01  # a grouped plan may be this much (relative) longer than the ungrouped one
MAX_SPLITS = 64  # units split one by one before giving up on grouping altogether


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(value: str) -> Shard:
    """``'2/4'`` -> Shard(2, 4); anything else is a usage error naming ``--shard``."""
    text = str(value).strip()
    left, sep, right = text.partition("/")
    if not sep or not left.isdigit() or not right.isdigit() or not 1 <= int(left) <= int(right):
        raise UsageError(f"--shard: {value!r} is not I/K with 1 <= I <= K (e.g. 1/4: the first of 4 shards)")
    return Shard(int(left), int(right))


# ---------------------------------------------------------------------------- estimates
def estimate(nodeids: Sequence[str], history: Mapping[str, float]) -> list[float]:
    """Seconds per test: its history, else siblings, parent, module, the median of all."""
    if not history:
        return [1.0] * len(nodeids)
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for nodeid, d in history.items():
        for key in _keys(nodeid):
            groups[key].append(d)
    medians = {key: statistics.median(v) for key, v in groups.items()}
    fallback = statistics.median(history.values())
    out = []
    for nodeid in nodeids:
        known = history.get(nodeid)
        d = (
            known
            if known is not None
            else next((medians[k] for k in _keys(nodeid) if k in medians), fallback)
        )
        out.append(max(float(d), 0.0))
    return out


def _keys(nodeid: str) -> tuple[tuple[str, str], ...]:
    module, parent, name = derived(nodeid)
    return ("sibling", f"{parent}::{name}"), ("parent", parent), ("module", module)


# ---------------------------------------------------------------------------- planning
def units_of(group_keys: Sequence[str | None]) -> list[list[int]]:
    """Runs of consecutive tests with the same (non-None) group key; other tests alone."""
    units: list[list[int]] = []
    current_key: str | None = None
    for i, key in enumerate(group_keys):
        if key is not None and key == current_key:
            units[-1].append(i)
            continue
        units.append([i])
        current_key = key
    return units


def lpt(
    units: Sequence[Sequence[int]], seconds: Sequence[float], count: int
) -> tuple[list[int], list[float]]:
    """Longest-processing-time-first: shard (0-based) per test, and each shard's load."""
    work = [sum(seconds[i] for i in u) for u in units]
    order = sorted(range(len(units)), key=lambda u: (-work[u], units[u][0]))
    heap = [(0.0, s) for s in range(count)]
    loads = [0.0] * count
    assignment = [0] * len(seconds)
    for u in order:
        load, s = heapq.heappop(heap)
        for i in units[u]:
            assignment[i] = s
        loads[s] = load + work[u]
        heapq.heappush(heap, (loads[s], s))
    return assignment, loads


def plan(seconds: Sequence[float], count: int, group_keys: Sequence[str | None] | None = None) -> list[int]:
    """Shard (0-based) of each test; see the module docstring."""
    if count < 1:
        raise ValueError("count must be >= 1")
    singles = [[i] for i in range(len(seconds))]
    flat, flat_loads = lpt(singles, seconds, count)
    if not group_keys or all(k is None for k in group_keys):
        return flat
    units = units_of(group_keys)
    limit = max(flat_loads, default=0.0) * (1 + GROUP_TOLERANCE) + 1e-9
    for _ in range(MAX_SPLITS):
        grouped, loads = lpt(units, seconds, count)
        if max(loads, default=0.0) <= limit:
            return grouped
        big = max(
            (u for u in units if len(u) > 1), key=lambda u: (sum(seconds[i] for i in u), -u[0]), default=None
        )
        if big is None:
            break
        at = units.index(big)
        units[at : at + 1] = [[i] for i in big]
    return flat


def select(
    nodeids: Sequence[str],
    shard: Shard,
    history: Mapping[str, float],
    group_keys: Sequence[str | None] | None = None,
) -> list[bool]:
    """For each test, whether it belongs to ``shard``."""
    assignment = plan(estimate(nodeids, history), shard.count, group_keys)
    return [s == shard.index - 1 for s in assignment]
