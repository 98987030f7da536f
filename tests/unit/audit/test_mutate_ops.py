"""The mutation operators produce the intended source change, or nothing when they do not apply."""

from __future__ import annotations

import ast

from testfleet.audit.mutate import _mutate

SRC = '''
def f(x: int) -> int:
    """Doc."""
    log(x)
    if x < 3:
        return x
    return 0

def g(items):
    for i in items:
        yield i

def h():
    return 1
'''


def _fn(src: str, name: str) -> str:
    tree = ast.parse(src)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    return ast.unparse(node)


def test_default_return_uses_annotation_and_keeps_docstring() -> None:
    out = _mutate(ast.parse(SRC), 2, "default-return")
    assert out is not None
    assert _fn(out, "f") == 'def f(x: int) -> int:\n    """Doc."""\n    return 0'


def test_default_return_of_generator_is_an_empty_generator() -> None:
    out = _mutate(ast.parse(SRC), 9, "default-return")
    assert out is not None
    ns: dict[str, object] = {}
    exec(compile(out.replace("log(x)", "pass"), "m", "exec"), ns)  # noqa: S102 - our own generated code
    assert list(ns["g"]([1, 2])) == []  # type: ignore[operator]


def test_flip_compare_and_drop_call() -> None:
    flipped = _mutate(ast.parse(SRC), 2, "flip-compare")
    dropped = _mutate(ast.parse(SRC), 2, "drop-call")
    assert flipped is not None and "if x >= 3:" in _fn(flipped, "f")
    assert dropped is not None and "log(x)" not in _fn(dropped, "f") and "pass" in _fn(dropped, "f")


def test_operators_that_do_not_apply_return_none() -> None:
    assert _mutate(ast.parse(SRC), 13, "flip-compare") is None
    assert _mutate(ast.parse(SRC), 13, "drop-call") is None
    assert _mutate(ast.parse(SRC), 99, "default-return") is None
