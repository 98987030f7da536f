"""pytest plugin that turns one collection into mutant work items (``testfleet audit --mutate``).

Loaded with ``-p testfleet.audit.mutant_plugin`` into a ``testfleet run``; inert unless
``TESTFLEET_AUDIT_MUTANTS`` names a plan (JSON: a list of ``{"id", "file", "function", "source",
"tests"}`` where ``source`` is the whole mutated module and ``tests`` the node ids that cover the
function). In the collector it replaces the collected items with one clone per (mutant, covering
test), named ``<test>@m<id>``, so the controller schedules mutants like any test, over every worker
of the fleet (local or Ray). In the worker, around each clone's protocol, it swaps the target
function's ``__code__`` for the mutated one and restores it after: no re-import, no new process.
A mutant whose function cannot be swapped (a closure, a decorated wrapper) writes
``unapplied-<id>`` into ``TESTFLEET_AUDIT_MUTANT_DIR`` and its clone is skipped.

A mutant stops at its first kill: the first clone of it that fails or errors writes ``killed-<id>``
into that directory, and every clone of it that starts afterwards, on any worker sharing the
directory, is skipped ("mutant <id> already killed").
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ENV_PLAN = "TESTFLEET_AUDIT_MUTANTS"
ENV_DIR = "TESTFLEET_AUDIT_MUTANT_DIR"
SEP = "@m"

_PLAN: dict[int, dict[str, Any]] = {}
_CODE: dict[int, types.CodeType | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(ENV_PLAN)
    if path:
        _PLAN.update({int(m["id"]): m for m in json.loads(Path(path).read_text(encoding="utf-8"))})


def _clone(item: pytest.Item, mutant_id: int) -> pytest.Item | None:
    if type(item) is not pytest.Function:
        return None  # unittest items and plugin items cannot be cloned faithfully
    base = f"{item.originalname}{SEP}{mutant_id}"  # node id: <file>::<test>@m<id>[<params>]
    clone = pytest.Function.from_parent(
        item.parent,
        name=base + item.name[len(item.originalname) :],
        callspec=getattr(item, "callspec", None),
        callobj=item.obj,
        fixtureinfo=item._fixtureinfo,
        keywords=dict(item.keywords),
        originalname=base,
    )
    clone.own_markers = list(item.own_markers)
    clone.testfleet_mutant = mutant_id  # type: ignore[attr-defined]
    return clone


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _PLAN:
        return
    by_id = {it.nodeid: it for it in items}
    clones: list[pytest.Item] = []
    for mid, mutant in sorted(_PLAN.items()):
        for nodeid in mutant["tests"]:
            item = by_id.get(nodeid)
            clone = _clone(item, mid) if item is not None else None
            if clone is not None:
                clones.append(clone)
    items[:] = clones


def mutant_id(nodeid: str) -> int | None:
    """The mutant of a clone's node id (``<file>::<test>@m<id>[<params>]``), else None."""
    name = nodeid.rsplit("::", 1)[-1]
    if SEP not in name:
        return None
    try:
        return int(name.rsplit(SEP, 1)[1].split("[", 1)[0])
    except ValueError:
        return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    out = os.environ.get(ENV_DIR)
    mid = mutant_id(report.nodeid) if report.failed and out else None
    if out and mid is not None:
        Path(out, f"killed-{mid}").touch()


def _find_code(code: types.CodeType, qualname: str) -> types.CodeType | None:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_qualname == qualname:
                return const
            found = _find_code(const, qualname)
            if found is not None:
                return found
    return None


def _target(mutant: dict[str, Any]) -> types.FunctionType | None:
    want = os.path.realpath(mutant["file"])
    module = next(
        (
            m
            for m in list(sys.modules.values())
            if os.path.realpath(str(getattr(m, "__file__", None) or "")) == want
        ),
        None,
    )
    obj: Any = module
    for part in mutant["function"].split("."):
        if obj is None:
            return None
        obj = vars(obj).get(part) if hasattr(obj, "__dict__") else None
        obj = getattr(obj, "__func__", obj)  # staticmethod / classmethod
    return obj if isinstance(obj, types.FunctionType) else None


def _mutated_code(mid: int) -> types.CodeType | None:
    if mid not in _CODE:
        m = _PLAN[mid]
        _CODE[mid] = _find_code(compile(m["source"], m["file"], "exec", dont_inherit=True), m["function"])
    return _CODE[mid]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    mid = getattr(item, "testfleet_mutant", None)
    if mid is None or mid not in _PLAN:
        yield
        return
    out = os.environ.get(ENV_DIR)
    if out and Path(out, f"killed-{mid}").exists():
        item.add_marker(pytest.mark.skip(reason=f"mutant {mid} already killed"))
        yield
        return
    fn, code = _target(_PLAN[mid]), _mutated_code(mid)
    original = fn.__code__ if fn is not None else None
    try:
        if fn is None or code is None:
            raise ValueError("function not found")
        fn.__code__ = code
    except ValueError:
        if out:
            Path(out, f"unapplied-{mid}").touch()
        item.add_marker(pytest.mark.skip(reason="mutant could not be applied"))
        original = None
    try:
        yield
    finally:
        if fn is not None and original is not None:
            fn.__code__ = original
