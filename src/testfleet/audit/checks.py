"""What counts as a *check* inside a test, and whether a check is trivial or weak.

A check is anything that can make a test fail on purpose: an ``assert`` statement, a
``pytest.raises``/``warns``/``fail`` call, a ``self.assert*``/``self.fail*`` call, an ``assert_*``
call (mock, numpy, project helpers), a ``check_*``/``verify_*``/``expect*`` call, an explicit
``raise``, or a call to a helper defined in the same file (or class) that itself contains checks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from testfleet.audit.discover import FuncDef, ParsedFile, TestDef, class_hierarchy

_UNITTEST_ASSERT = re.compile(r"^(assert[A-Z_]\w*|fail\w*|assert_)$")
_CAMEL_ASSERT = re.compile(r"^assert[A-Z]\w*$")
_CHECK_NAME = re.compile(r"^_*(assert|check|verify|expect)(_|[A-Z]|$)|^validate$")
_PREDICATE = re.compile(
    r"^_*(is|has|can|should|exists?|starts|ends|contains|match|fullmatch|search|all|any|"
    r"issub|issuper|isdisjoint|equal|equals|allclose|array_equal|isclose|same|"
    r"compare|validate_|is_valid|valid|approx|done|cancelled|ping|alive|ready|empty|closed|locked|"
    r"running|called|wait)"
)
_PREDICATE_WORDS = {
    "is",
    "has",
    "equal",
    "equals",
    "isomorphic",
    "close",
    "allclose",
    "valid",
    "same",
    "match",
    "matches",
    "contains",
    "exists",
    "empty",
    "connected",
    "done",
    "ready",
    "alive",
}


def is_predicate_name(name: str) -> bool:
    """A callee whose name says it returns a boolean: ``is_x``, ``x_is_y``, ``nodes_equal``, ``exists``."""
    words = [w.lower() for w in name.strip("_").split("_") if w]
    return bool(_PREDICATE.match(name)) or any(w in _PREDICATE_WORDS for w in words)


_PYTEST_CHECKS = {"raises", "warns", "deprecated_call", "fail"}
_WEAK_UNITTEST = {"assertIsNotNone"}


@dataclass
class Check:
    kind: str  # assert | raises | unittest | assert-call | helper | raise
    node: ast.AST
    trivial: bool = False
    weak: bool = False
    in_except: bool = False

    @property
    def is_unconditional_fail(self) -> bool:
        """``raise``, ``pytest.fail``, ``self.fail`` or ``assert False``: turns a path into a failure."""
        if self.kind == "raise":
            return True
        if isinstance(self.node, ast.Call) and call_name(self.node) == "fail":
            return True
        return isinstance(self.node, ast.Assert) and _truthy_constant(self.node.test) is False

    @property
    def line(self) -> int:
        return getattr(self.node, "lineno", 0)


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for Name/Attribute chains (calls in the chain are written ``f()``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{dotted(node.func)}()"
    return "?"


def call_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def is_pytest_call(pf: ParsedFile, call: ast.Call, names: set[str]) -> bool:
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in names and dotted(f.value) == "pytest":
        return True
    return isinstance(f, ast.Name) and f.id in names and pf.imports.get(f.id, "").startswith("pytest.")


def walk_body(fn: FuncDef) -> list[tuple[ast.AST, bool]]:
    """Every node of the body (not decorators/defaults) with 'inside an except handler'."""
    out: list[tuple[ast.AST, bool]] = []

    def visit(node: ast.AST, in_except: bool) -> None:
        out.append((node, in_except))
        for child in ast.iter_child_nodes(node):
            visit(child, in_except or isinstance(node, ast.ExceptHandler))

    for stmt in fn.body:
        visit(stmt, False)
    return out


def _truthy_constant(node: ast.AST) -> bool | None:
    """True/False when the expression's truth value is known statically, else None."""
    if isinstance(node, ast.Constant):
        return bool(node.value)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts)
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    if isinstance(node, ast.JoinedStr):
        if any(isinstance(v, ast.Constant) and v.value for v in node.values):
            return True
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _truthy_constant(node.operand)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        vals = [_truthy_constant(v) for v in node.values]
        if isinstance(node.op, ast.Or) and any(v is True for v in vals):
            return True
        if isinstance(node.op, ast.And) and all(v is True for v in vals):
            return True
        return None
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        try:
            lv, rv = ast.literal_eval(left), ast.literal_eval(right)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            if (
                isinstance(left, ast.Name)
                and isinstance(right, ast.Name)
                and left.id == right.id
                and isinstance(node.ops[0], ast.Is)
            ):
                return True
            return None
        ops: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
            ast.Eq: lambda a, b: a == b,
            ast.NotEq: lambda a, b: a != b,
            ast.Is: lambda a, b: a is b,
            ast.IsNot: lambda a, b: a is not b,
            ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b,
            ast.Lt: lambda a, b: a < b,
            ast.Gt: lambda a, b: a > b,
            ast.LtE: lambda a, b: a <= b,
            ast.GtE: lambda a, b: a >= b,
        }
        try:
            return bool(ops[type(node.ops[0])](lv, rv))
        except Exception:  # noqa: BLE001 - any literal comparison error means "unknown"
            return None
    return None


def is_trivial_expr(node: ast.AST) -> bool:
    return _truthy_constant(node) is True


def _is_len(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"


def is_weak_expr(node: ast.AST, call_vars: set[str]) -> bool:
    """``x is not None``, ``isinstance``, truthiness of a (non-predicate) call, ``len(x) > 0``."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return all(is_weak_expr(v, call_vars) for v in node.values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op, right, left = node.ops[0], node.comparators[0], node.left
        if isinstance(op, ast.IsNot) and isinstance(right, ast.Constant) and right.value is None:
            return True
        if (
            _is_len(left)
            and isinstance(right, ast.Constant)
            and (
                (isinstance(op, ast.Gt | ast.NotEq) and right.value == 0)
                or (isinstance(op, ast.GtE) and right.value == 1)
            )
        ):
            return True
        return (
            _is_len(right) and isinstance(left, ast.Constant) and left.value == 0 and isinstance(op, ast.Lt)
        )
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name in {"hasattr", "callable", "len", "bool"}:
            return True
        return is_constructor_name(name)
    return isinstance(node, ast.Name) and node.id in call_vars


def is_constructor_name(name: str) -> bool:
    """``Cart``, ``nx.Graph``: a class being built (its truth value says only that it exists).
    Truthiness of other calls is not judged: they often return the boolean under test."""
    return name[:1].isupper() and not name.isupper()


def call_assigned_vars(fn: FuncDef) -> set[str]:
    """Names assigned (anywhere in the test) from a constructor call."""
    out: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if not is_constructor_name(call_name(node.value)):
                continue
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.add(t.id)
    return out


class CheckFinder:
    """Finds the checks of tests in one parsed file; resolves same-file helpers (memoised)."""

    def __init__(self, pf: ParsedFile) -> None:
        self.pf = pf
        self._helper_memo: dict[int, bool] = {}

    def _resolve(self, call: ast.Call, test: TestDef | None) -> FuncDef | None:
        f = call.func
        if isinstance(f, ast.Name):
            return self.pf.functions.get(f.id)
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.value, ast.Name)
            and f.value.id in {"self", "cls"}
            and test is not None
            and test.cls is not None
        ):
            for owner in class_hierarchy(self.pf, test.cls):
                for item in owner.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == f.attr:
                        return item
            return self._assigned_helper(test, f.attr)
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.value, ast.Call)
            and call_name(f.value) == "super"
            and test is not None
            and test.cls is not None
        ):
            for owner in class_hierarchy(self.pf, test.cls)[1:]:
                for item in owner.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == f.attr:
                        return item
        return None

    def _assigned_helper(self, test: TestDef, attr: str) -> FuncDef | None:
        """``cls.attr = some_function`` or ``= partial(some_function, ...)`` in the class's methods."""
        assert test.cls is not None
        for owner in class_hierarchy(self.pf, test.cls):
            for node in ast.walk(owner):
                if not isinstance(node, ast.Assign) or not any(
                    isinstance(t, ast.Attribute) and t.attr == attr for t in node.targets
                ):
                    continue
                value = node.value
                while (
                    isinstance(value, ast.Call)
                    and value.args
                    and call_name(value) in {"partial", "staticmethod", "classmethod"}
                ):
                    value = value.args[0]
                if isinstance(value, ast.Name) and value.id in self.pf.functions:
                    return self.pf.functions[value.id]
                if isinstance(value, ast.Name):  # a function defined inside the class's methods
                    local = next(
                        (
                            n
                            for n in ast.walk(owner)
                            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == value.id
                        ),
                        None,
                    )
                    if local is not None:
                        return local
        return None

    def _helper_has_checks(self, fn: FuncDef, test: TestDef | None, depth: int) -> bool:
        key = id(fn)
        if key in self._helper_memo:
            return self._helper_memo[key]
        self._helper_memo[key] = False  # recursion guard
        result = bool(self.checks(fn, test, depth + 1)) if depth < 4 else False
        self._helper_memo[key] = result
        return result

    def checks(self, fn: FuncDef, test: TestDef | None = None, depth: int = 0) -> list[Check]:
        out: list[Check] = []
        call_vars = call_assigned_vars(fn)
        for node, in_except in walk_body(fn):
            c = self._classify(node, test, depth, call_vars)
            if c is not None:
                c.in_except = in_except
                out.append(c)
        return out

    def _classify(self, node: ast.AST, test: TestDef | None, depth: int, call_vars: set[str]) -> Check | None:
        if isinstance(node, ast.Assert):
            return Check(
                "assert", node, trivial=is_trivial_expr(node.test), weak=is_weak_expr(node.test, call_vars)
            )
        if isinstance(node, ast.Raise):
            return Check("raise", node)
        if not isinstance(node, ast.Call):
            return None
        name = call_name(node)
        if is_pytest_call(self.pf, node, _PYTEST_CHECKS):
            return Check("raises", node)
        on_self = isinstance(node.func, ast.Attribute) and dotted(node.func.value) in {"self", "cls"}
        if isinstance(node.func, ast.Attribute) and (
            _CAMEL_ASSERT.match(name) or (on_self and _UNITTEST_ASSERT.match(name))
        ):
            return Check(
                "unittest", node, trivial=_trivial_unittest(node), weak=_weak_unittest(node, call_vars)
            )
        if _CHECK_NAME.match(name):
            return Check("assert-call", node)
        helper = self._resolve(node, test)
        if helper is not None and self._helper_has_checks(helper, test, depth):
            return Check("helper", node)
        return None


def _trivial_unittest(call: ast.Call) -> bool:
    name, args = call_name(call), call.args
    if name in {"assertTrue", "assert_"} and args:
        return is_trivial_expr(args[0])
    if name == "assertFalse" and args:
        return _truthy_constant(args[0]) is False
    if name in {"assertEqual", "assertIs", "assertEquals"} and len(args) >= 2:
        return is_trivial_expr(ast.Compare(left=args[0], ops=[ast.Eq()], comparators=[args[1]]))
    if name == "assertIsNotNone" and args:
        return isinstance(args[0], ast.Constant) and args[0].value is not None
    return False


def _weak_unittest(call: ast.Call, call_vars: set[str]) -> bool:
    name, args = call_name(call), call.args
    if name in _WEAK_UNITTEST:
        return True
    if name in {"assertTrue", "assert_"} and args:
        return is_weak_expr(args[0], call_vars)
    if name in {"assertGreater", "assertNotEqual"} and len(args) >= 2:
        return _is_len(args[0]) and isinstance(args[1], ast.Constant) and args[1].value == 0
    return False


def is_camel_assert(name: str) -> bool:
    return bool(_CAMEL_ASSERT.match(name))
