"""The ``fleet`` marker: what a test needs and how it must be ordered.

``@pytest.mark.fleet(requires={"gpu": 1, "memory_gb": 8, "cpus": 2}, tags=["browser"],
after=["test_mod.py::test_setup"], exclusive=True, group="db", mpi=4)``. Several ``fleet`` marks
on one test (e.g. class and function) are merged, the closest one winning per key.

``gpu`` is a number of whole GPUs or a share of one below 1 (``0.5``); ``gpu_memory_gb`` and
``memory_gb`` are reserved while the test runs (docs/hardware.md). ``mpi=N`` runs the test
as N MPI ranks under ``mpirun`` and occupies N worker slots (``requires["cpus"]`` at least N
and ``requires["mpi"] = N``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from testfleet.errors import UsageError
from testfleet.nodeids import derived
from testfleet.scheduler.protocol import TestSpec

MARKER_KEYS = ("requires", "tags", "after", "exclusive", "group", "mpi")
MARKER_HELP = (
    "fleet(requires={'gpu': 1, 'gpu_memory_gb': 40, 'memory_gb': 8, 'cpus': 2}, tags=['browser'], "
    "after=['nodeid'], exclusive=True, group='name', mpi=N): testfleet placement and ordering"
)


def parse_marker(nodeid: str, marks: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge ``fleet`` marks (closest first, as pytest's iter_markers yields them)."""
    merged: dict[str, Any] = {}
    for mark in reversed(marks):
        if mark.get("args"):
            raise UsageError(
                f"{nodeid}: @pytest.mark.fleet takes keyword arguments only ({', '.join(MARKER_KEYS)})"
            )
        for key, value in mark.get("kwargs", {}).items():
            if key not in MARKER_KEYS:
                raise UsageError(
                    f"{nodeid}: unknown key {key!r} in @pytest.mark.fleet; accepted: {', '.join(MARKER_KEYS)}"
                )
            merged[key] = value
    requires = merged.get("requires", {}) or {}
    if not isinstance(requires, Mapping):
        raise UsageError(f"{nodeid}: fleet(requires=...) must be a dict like {{'gpu': 1}}, not {requires!r}")
    clean: dict[str, float] = {}
    for name, amount in requires.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise UsageError(f"{nodeid}: fleet requirement {name!r}={amount!r} is not a number")
        if amount < 0:
            raise UsageError(f"{nodeid}: fleet requirement {name!r}={amount!r} is negative")
        clean[str(name)] = float(amount)
    gpu = clean.get("gpu", 0.0)
    if gpu > 1 and gpu != int(gpu):
        raise UsageError(
            f"{nodeid}: fleet requirement 'gpu'={gpu:g}: a GPU share must be below 1 "
            f"(e.g. 0.5) or a whole number of GPUs"
        )
    mpi = merged.get("mpi")
    if mpi is not None:
        if isinstance(mpi, bool) or not isinstance(mpi, int) or mpi < 1:
            raise UsageError(f"{nodeid}: fleet(mpi=...) must be a whole number of ranks >= 1, not {mpi!r}")
        clean["mpi"] = float(mpi)
        clean["cpus"] = max(clean.get("cpus", 1.0), float(mpi))
    tags = merged.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise UsageError(f"{nodeid}: fleet(tags=...) must be a list of strings, not {tags!r}")
    after = merged.get("after", [])
    if isinstance(after, str):
        after = [after]
    if not isinstance(after, list | tuple) or not all(isinstance(t, str) for t in after):
        raise UsageError(f"{nodeid}: fleet(after=...) must be a list of test node ids, not {after!r}")
    exclusive = merged.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise UsageError(f"{nodeid}: fleet(exclusive=...) must be True or False, not {exclusive!r}")
    group = merged.get("group")
    if group is not None and not isinstance(group, str):
        raise UsageError(f"{nodeid}: fleet(group=...) must be a string, not {group!r}")
    return {
        "requires": clean,
        "tags": frozenset(tags),
        "after": tuple(after),
        "exclusive": exclusive,
        "group": group,
    }


_UNMARKED = parse_marker("", [])


def spec_from_item(index: int, info: dict[str, Any]) -> TestSpec:
    """The scheduler's view of a collected item (:func:`testfleet.worker.items.describe_all`:
    fields its node id tells are not sent)."""
    nodeid = info["nodeid"]
    module, parent, name = derived(nodeid)
    marks = info.get("fleet")
    m = parse_marker(nodeid, marks) if marks else _UNMARKED
    return TestSpec(
        index=index,
        nodeid=nodeid,
        module=module,
        parent=info.get("parent", parent),
        name=info.get("name", name),
        scope=info.get("scope"),
        requires=m["requires"],
        tags=m["tags"],
        after=m["after"],
        exclusive=m["exclusive"],
        group=m["group"],
    )


def widest(items: list[dict[str, Any]]) -> int:
    """The most worker slots one collected test occupies (``cpus=k``, ``mpi=N``); 1 when
    none asks for more. Only items that carry a ``fleet`` mark are parsed."""
    return max(
        (spec_from_item(i, info).slots for i, info in enumerate(items) if info.get("fleet")), default=1
    )
