"""Rules for tests that run the code but check nothing about what it computed.

* ``mock-only``: every effective check of the test concerns a mock the test itself created
  (``Mock()``/``MagicMock()``/``AsyncMock()``/``create_autospec()``, ``mocker.Mock/MagicMock/patch*``,
  ``patch(...)``/``patch.object(...)`` bound with ``as`` or started with ``.start()``): its
  ``assert_*`` methods, or an assert/``assertTrue``/``assertEqual`` over its ``called``,
  ``call_count``, ``call_args``, ``call_args_list``, ``mock_calls``, ``method_calls``,
  ``await_count``/``await_args``. No check reads the unit's return value or state.
* ``did-not-crash``: every effective check is ``x is not None``, ``isinstance(x, T)``,
  ``assertIsNotNone(x)`` or ``assertIsInstance(x, T)`` where ``x`` is a value the test just built (a
  call, or an awaited call, written in the check, or a name the test assigned from one), or the
  truthiness (``assert x``, ``bool(x)``, ``assertTrue(x)``) of a value built by a constructor
  (``Cart(...)``: other calls often return the boolean under test). ``isinstance(x, T)`` where ``T``
  was passed to the call that built ``x`` (``create_using=T``) is a real check. Such a test fails
  only when the call raises.
* ``constant-assert``: every effective check is a comparison (``assert a == b``, ``assertEqual``,
  ...) whose operands are constants: literals, ``ALL_CAPS`` names of two or more characters that
  the test does not assign (module constants, also dotted: ``mod.MAX_SIZE``; not ``X, Y = f()``),
  or names the test bound to a literal and uses nowhere else. The check cannot
  see the behaviour of the code under test. (Two literals compared are ``trivial-assert``.)

When ``did-not-crash`` fires, ``weak-assert`` is not reported for the same test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from testfleet.audit.checks import Check, call_name, dotted, is_constructor_name, is_predicate_name, walk_body
from testfleet.audit.discover import FuncDef, ParsedFile, TestDef

MOCK_FACTORIES = {
    "Mock",
    "MagicMock",
    "AsyncMock",
    "NonCallableMock",
    "NonCallableMagicMock",
    "create_autospec",
    "PropertyMock",
}
MOCK_STATE = {
    "called",
    "call_count",
    "call_args",
    "call_args_list",
    "mock_calls",
    "method_calls",
    "await_count",
    "await_args",
    "await_args_list",
    "awaited",
}
_PATCHERS = {"patch", "object", "multiple", "dict"}
_CONST_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
_EXISTENCE_UNITTEST = {"assertIsNotNone", "assertIsInstance", "assertTrue", "assert_"}
_COMPARE_UNITTEST = {
    "assertEqual",
    "assertEquals",
    "assertNotEqual",
    "assertIs",
    "assertIn",
    "assertGreater",
    "assertLess",
    "assertGreaterEqual",
    "assertLessEqual",
    "assertAlmostEqual",
}


def _is_mock_factory(pf: ParsedFile, call: ast.Call) -> bool:
    name = call_name(call)
    d = dotted(call.func)
    if name in MOCK_FACTORIES:
        return (
            d == name
            and pf.imports.get(name, "").startswith(("unittest.mock", "mock", "pytest_mock"))
            or d.split(".")[0] in {"mock", "mocker", "unittest"}
            or "mock" in d.split(".")
        )
    if d.startswith("mocker.") and name in _PATCHERS | {"stub", "async_stub", "spy"}:
        return name != "spy"  # a spy wraps the real function: its result is the unit's
    return _is_patcher(pf, call)


def _is_patcher(pf: ParsedFile, call: ast.Call) -> bool:
    parts = dotted(call.func).split(".")
    if parts[-1] not in _PATCHERS or parts[0] == "monkeypatch":
        return False
    return "patch" in parts or pf.imports.get(parts[0], "").endswith("mock.patch")


def mock_names(pf: ParsedFile, fn: FuncDef) -> set[str]:
    """Names the test binds to a mock it created."""
    out: set[str] = set()
    for node, _ in walk_body(fn):
        value: ast.AST | None = None
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            value, targets = node.value, list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            value, targets = node.value, [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            value, targets = node.context_expr, [node.optional_vars]
        if (
            isinstance(value, ast.Call)
            and call_name(value) == "start"
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Call)
        ):
            value = value.func.value  # patch(...).start()
        if isinstance(value, ast.Call) and _is_mock_factory(pf, value):
            out.update(t.id for t in targets if isinstance(t, ast.Name))
    return out


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _on_mock_state(node: ast.AST, mocks: set[str]) -> bool:
    """``m.x.called``, ``m.call_args[0]``, ``len(m.mock_calls)``: state of a created mock."""
    if isinstance(node, ast.Call) and call_name(node) == "len" and node.args:
        return _on_mock_state(node.args[0], mocks)
    attrs: list[str] = []
    cur = node
    while isinstance(cur, ast.Attribute | ast.Subscript):
        if isinstance(cur, ast.Attribute):
            attrs.append(cur.attr)
        cur = cur.value
    return isinstance(cur, ast.Name) and cur.id in mocks and any(a in MOCK_STATE for a in attrs)


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _operands(node.operand)
    if isinstance(node, ast.BoolOp):
        return [o for v in node.values for o in _operands(v)]
    return [node]


def _plain(node: ast.AST) -> bool:
    """A literal or a name of the mock helpers (``call``, ``ANY``, ``sentinel``)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_plain(e) for e in node.elts)
    root = _root(node)
    return isinstance(root, ast.Name) and root.id in {"call", "ANY", "mock", "sentinel"}


def is_mock_check(c: Check, mocks: set[str]) -> bool:
    node = c.node
    if (
        isinstance(node, ast.Call)
        and call_name(node).startswith("assert_")
        and isinstance(node.func, ast.Attribute)
    ):
        root = _root(node.func.value)
        return isinstance(root, ast.Name) and root.id in mocks
    test: ast.AST | None = None
    if isinstance(node, ast.Assert):
        test = node.test
    elif isinstance(node, ast.Call) and c.kind == "unittest" and node.args:
        test = (
            ast.Compare(left=node.args[0], ops=[ast.Eq()], comparators=node.args[1:2])
            if len(node.args) > 1
            else node.args[0]
        )
    if test is None:
        return False
    ops = _operands(test)
    return any(_on_mock_state(o, mocks) for o in ops) and all(
        _on_mock_state(o, mocks) or _plain(o) for o in ops
    )


def _built_value(node: ast.AST, built: dict[str, ast.Call], truthiness: bool) -> ast.Call | None:
    """The call that built the value, when ``node`` is one (a constructor only, for truthiness:
    other calls often return the boolean under test)."""
    if isinstance(node, ast.Await):
        node = node.value
    call = node if isinstance(node, ast.Call) else built.get(node.id) if isinstance(node, ast.Name) else None
    if (
        call is None
        or call_name(call) in {"isinstance", "len", "bool", "hasattr", "callable"}
        or is_predicate_name(call_name(call))
    ):
        return None
    return call if not truthiness or is_constructor_name(call_name(call)) else None


def _requested_type(check: ast.AST, call: ast.Call) -> bool:
    """``isinstance(x, T)`` where ``T`` was passed to the call that built ``x`` (``create_using=T``):
    the test checks that the call honoured it, a real check."""
    if not (isinstance(check, ast.Call) and call_name(check) == "isinstance" and len(check.args) == 2):
        return False
    wanted = ast.dump(check.args[1])
    return any(ast.dump(a) == wanted for a in [*call.args, *(k.value for k in call.keywords)])


def _existence_target(node: ast.AST) -> tuple[ast.AST, bool] | None:
    """(the value an existence/type/truthiness check is about, is it truthiness), or None."""
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.IsNot)
        and isinstance(node.comparators[0], ast.Constant)
        and node.comparators[0].value is None
    ):
        return node.left, False
    if (
        isinstance(node, ast.Call)
        and call_name(node) == "isinstance"
        and isinstance(node.func, ast.Name)
        and node.args
    ):
        return node.args[0], False
    if (
        isinstance(node, ast.Call)
        and call_name(node) == "bool"
        and isinstance(node.func, ast.Name)
        and node.args
    ):
        return node.args[0], True
    if isinstance(node, ast.Name | ast.Call | ast.Await):
        return node, True
    return None


def built_names(fn: FuncDef) -> dict[str, ast.Call]:
    """Names the test assigned from a call (``x = f(...)``, ``x = await f(...)``, ``with f() as x``)."""
    out: dict[str, ast.Call] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            value = node.value.value if isinstance(node.value, ast.Await) else node.value
            if isinstance(value, ast.Call) and not is_predicate_name(call_name(value)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                out.update((t.id, value) for t in targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.withitem)
            and isinstance(node.optional_vars, ast.Name)
            and isinstance(node.context_expr, ast.Call)
        ):
            out[node.optional_vars.id] = node.context_expr
    return out


def is_did_not_crash_check(c: Check, built: dict[str, ast.Call]) -> bool:
    node = c.node
    if isinstance(node, ast.Assert):
        parts: list[ast.AST] = (
            list(node.test.values)
            if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And)
            else [node.test]
        )
    elif (
        isinstance(node, ast.Call)
        and c.kind == "unittest"
        and call_name(node) in _EXISTENCE_UNITTEST
        and node.args
    ):
        name = call_name(node)
        parts = (
            [ast.Compare(node.args[0], [ast.IsNot()], [ast.Constant(None)])]
            if name == "assertIsNotNone"
            else [ast.Call(ast.Name("isinstance"), list(node.args[:2]), [])]
            if name == "assertIsInstance"
            else [node.args[0]]
        )
    else:
        return False
    for part in parts:
        target = _existence_target(part)
        call = _built_value(target[0], built, target[1]) if target else None
        if call is None or _requested_type(part, call):
            return False
    return True


def _constant(node: ast.AST, literal_names: set[str], stored: frozenset[str] = frozenset()) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_constant(e, literal_names, stored) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand, literal_names, stored)
    if isinstance(node, ast.Name):
        return node.id in literal_names or (
            node.id not in stored and len(node.id) > 1 and bool(_CONST_NAME.match(node.id))
        )
    if isinstance(node, ast.Attribute):
        return bool(_CONST_NAME.match(node.attr)) and _is_dotted_name(node.value)
    return False


def _is_dotted_name(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def literal_names(fn: FuncDef) -> set[str]:
    """Names bound once to a literal and otherwise only read inside assert statements."""
    bound: dict[str, int] = {}
    literal: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound[node.id] = bound.get(node.id, 0) + 1
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            literal.add(node.targets[0].id)
    in_asserts = {id(n) for a in ast.walk(fn) if isinstance(a, ast.Assert) for n in ast.walk(a)}
    used_elsewhere = {
        n.id
        for n in ast.walk(fn)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in in_asserts
    }
    return {n for n in literal if bound.get(n) == 1 and n not in used_elsewhere}


def is_constant_check(c: Check, consts: set[str], stored: frozenset[str] = frozenset()) -> bool:
    node = c.node
    if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
        ops = [node.test.left, *node.test.comparators]
    elif (
        isinstance(node, ast.Call)
        and c.kind == "unittest"
        and call_name(node) in _COMPARE_UNITTEST
        and len(node.args) >= 2
    ):
        ops = list(node.args[:2])
    else:
        return False
    return all(_constant(o, consts, stored) for o in ops) and any(
        not isinstance(o, ast.Constant) for o in ops
    )


def weak_test_findings(pf: ParsedFile, t: TestDef, eff: list[Check]) -> Iterator[tuple[str, ast.AST, str]]:
    """(rule, node, message) for the three rules above; ``eff`` are the test's effective checks."""
    if not eff:
        return
    mocks = mock_names(pf, t.node)
    if mocks and all(is_mock_check(c, mocks) for c in eff):
        yield (
            "mock-only",
            eff[0].node,
            f"all {len(eff)} check(s) only inspect mocks the test created "
            f"({', '.join(sorted(mocks))}); nothing checks the unit's result or state",
        )
        return
    built = built_names(t.node)
    if all(is_did_not_crash_check(c, built) for c in eff):
        yield (
            "did-not-crash",
            eff[0].node,
            f"all {len(eff)} check(s) only say a value just built exists "
            "(is not None / isinstance / truthiness): the test fails only if the call raises",
        )
        return
    consts = literal_names(t.node)
    stored = frozenset(
        n.id for n in ast.walk(t.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    )
    if all(is_constant_check(c, consts, stored) for c in eff):
        yield (
            "constant-assert",
            eff[0].node,
            f"all {len(eff)} check(s) compare constants only: " + ast.unparse(eff[0].node)[:80],
        )
