"""The audit package has no import cycle (issue 14): engine, measure and mutate share ``options``."""

from __future__ import annotations

import ast
from pathlib import Path

import testfleet.audit

PACKAGE = Path(testfleet.audit.__file__).parent


def _imports(path: Path) -> set[str]:
    """Audit modules imported anywhere in the file (module level or inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("testfleet.audit."):
            out.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.rsplit(".", 1)[1] for a in node.names if a.name.startswith("testfleet.audit."))
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_cycle_finder_sees_a_cycle() -> None:
    assert _cycle({"engine": {"measure"}, "measure": {"engine"}}) == ["engine", "measure", "engine"]


def test_audit_modules_import_no_cycle() -> None:
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("*.py")}
    assert graph["measure"] >= {"options"} and "engine" not in graph["measure"]
    assert _cycle(graph) is None
