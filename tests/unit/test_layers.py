"""Clean layers (issue 14), checked by parsing the imports of src/testfleet.

* No import cycle, counting the imports inside functions too (a lazy import that closes a
  cycle is still a cycle in the design); ``if TYPE_CHECKING:`` imports do not count for
  cycles. Module-level imports are checked on their own as well.
* Nothing outside ``testfleet.cli`` (and ``__main__``, its entry) imports ``testfleet.cli``, not
  even inside a function: the CLI is the top layer.
* TestSpec and WorkerSpec are value types of model.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "testfleet"


def module_name(path: Path) -> str:
    parts = ["testfleet", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(path: Path) -> tuple[set[str], set[str], set[str]]:
    """(module-level imports, module-level and lazy imports, ``TYPE_CHECKING`` imports) of
    testfleet modules in ``path``."""
    module = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    every: set[str] = set()
    typing: set[str] = set()

    def names(node: ast.AST) -> set[str]:
        found: set[str] = set()
        if isinstance(node, ast.Import):
            found = {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node, path.name == "__init__.py")
            found = {base} | {f"{base}.{a.name}" for a in node.names}
        return {n for n in found if n.startswith("testfleet")}

    def visit(node: ast.AST, at_top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for sub in ast.walk(child):
                    typing.update(names(sub))
                continue
            got = names(child)
            every.update(got)
            if at_top:
                top.update(got)
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, at_top and not nested)

    visit(tree, True)
    return top, every, typing


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    """Per module: module-level imports, +lazy imports, +TYPE_CHECKING imports."""
    files = {module_name(p): p for p in SRC.rglob("*.py")}

    def modules(names: set[str], name: str) -> set[str]:
        # "from testfleet.x import y": y is a module when testfleet.x.y is one, else a name in x
        return {m if m in files else m.rsplit(".", 1)[0] for m in names} & set(files) - {name}

    top: dict[str, set[str]] = {}
    every: dict[str, set[str]] = {}
    annotated: dict[str, set[str]] = {}
    for name, path in files.items():
        t, e, typing = imports(path)
        top[name], every[name] = modules(t, name), modules(e, name)
        annotated[name] = every[name] | modules(typing, name)
    return top, every, annotated


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := dfs(node)):
            return found
    return None


def _edges(deps_of: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in deps_of.items()}


def test_no_import_cycles_at_module_level() -> None:
    top, _, _ = graph()
    assert find_cycle(_edges(top)) is None


def test_no_import_cycles_counting_lazy_imports() -> None:
    _, every, _ = graph()
    assert find_cycle(_edges(every)) is None


def test_nothing_below_cli_imports_cli() -> None:
    _, _, every = graph()  # not even for type annotations
    above_cli = ("testfleet.cli", "testfleet.__main__")  # `python -m testfleet` is the CLI's entry
    offenders = sorted(
        f"{m} -> {d}"
        for m, deps in every.items()
        if not m.startswith(above_cli)
        for d in deps
        if d == "testfleet.cli" or d.startswith("testfleet.cli.")
    )
    assert offenders == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_over_500_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500


def test_specs_are_value_types_of_the_model() -> None:
    from testfleet import model
    from testfleet.scheduler import protocol

    assert protocol.TestSpec is model.TestSpec and protocol.WorkerSpec is model.WorkerSpec
    assert model.TestSpec.__module__ == "testfleet.model"
