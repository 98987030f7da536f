"""Test dependencies: ``fleet(after=[...])`` and pytest-dependency's ``dependency`` marker.

Names resolve like pytest-dependency's: a full node id, or a name relative to the test's
module (``test_a``, ``TestX::test_a``); a ``dependency(name=...)`` alias counts too. A cycle
is a usage error that prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from testfleet.errors import UsageError
from testfleet.scheduler.protocol import TestSpec


def _dependency_marks(info: dict[str, Any]) -> tuple[list[str], list[str], str]:
    names: list[str] = []
    depends: list[str] = []
    scope = "module"
    for mark in info.get("dependency", []):
        kw = mark.get("kwargs", {})
        if kw.get("name"):
            names.append(str(kw["name"]))
        depends.extend(str(d) for d in kw.get("depends", []) or [])
        scope = str(kw.get("scope", scope))
    return names, depends, scope


def resolve(
    tests: Sequence[TestSpec], items: Sequence[dict[str, Any]], *, partial_selection: bool
) -> tuple[dict[int, list[int]], list[tuple[int, str]]]:
    """index -> indices it waits for; plus tests to skip because a dependency is not selected.

    A dependency that is not among the collected tests is a usage error, unless part of the
    suite was deselected (``-k``/``-m``/node ids), where it is a skip with a reason.
    """
    if not any(t.after for t in tests) and not any(info.get("dependency") for info in items):
        return {}, []  # nothing waits for anything
    by_nodeid = {t.nodeid: t.index for t in tests}
    alias: dict[str, int] = {}
    for t, info in zip(tests, items, strict=True):
        names, _, _ = _dependency_marks(info)
        for n in names:
            alias[f"{t.module}::{n}"] = t.index
            alias[n] = alias.get(n, t.index)
    deps: dict[int, list[int]] = {}
    unresolved: list[tuple[int, str]] = []
    for t, info in zip(tests, items, strict=True):
        _, depends, scope = _dependency_marks(info)
        wanted = [(name, "module") for name in t.after] + [(name, scope) for name in depends]
        found: list[int] = []
        missing: list[str] = []
        for name, sc in wanted:
            candidates = [name] if sc == "session" else []
            candidates += [f"{t.module}::{name}", name]
            if sc == "class" and t.parent:
                candidates.insert(0, f"{t.parent}::{name}")
            idx = next(
                (
                    by_nodeid.get(c, alias.get(c))
                    for c in candidates
                    if by_nodeid.get(c, alias.get(c)) is not None
                ),
                None,
            )
            if idx is None:
                if partial_selection:
                    missing.append(name)
                    continue
                raise UsageError(f"{t.nodeid}: depends on {name!r}, which is not a collected test")
            if idx == t.index:
                raise UsageError(f"{t.nodeid}: depends on itself")
            found.append(idx)
        if missing:
            unresolved.append(
                (
                    t.index,
                    f"depends on {', '.join(missing)}, which "
                    f"{'is' if len(missing) == 1 else 'are'} not selected in this run",
                )
            )
        elif found:
            deps[t.index] = found
    cycle = find_cycle(deps)
    if cycle:
        nodeids = {t.index: t.nodeid for t in tests}
        raise UsageError(f"dependency cycle: {' -> '.join(nodeids[i] for i in cycle)}")
    return deps, unresolved


def find_cycle(deps: dict[int, list[int]]) -> list[int] | None:
    """A cycle in the graph (first node repeated at the end), or None."""
    state: dict[int, int] = {}  # 1 visiting, 2 done
    stack: list[int] = []

    def visit(n: int) -> list[int] | None:
        state[n] = 1
        stack.append(n)
        for m in deps.get(n, ()):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if state.get(m) is None:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for node in list(deps):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None
