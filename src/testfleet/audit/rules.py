"""The static per-test rules (their registry, id, severity and definition, is ``registry``).

File-level rules (style mix, duplicated setup, module-level skips) are in ``filerules``.
Each rule function takes the parsed file, one test and its checks, and yields findings.
When ``placeholder`` fires, ``cannot-fail`` is not reported for the same test.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from testfleet.audit.checks import Check, call_name, dotted, is_camel_assert, is_pytest_call, walk_body
from testfleet.audit.discover import ParsedFile, TestDef, class_hierarchy
from testfleet.audit.model import Finding
from testfleet.audit.registry import RULES
from testfleet.audit.weakrules import built_names, is_did_not_crash_check, weak_test_findings

MOCK_THRESHOLD = 3
_PATCH_NAMES = {
    "patch",
    "object",
    "dict",
    "multiple",
    "setattr",
    "setitem",
    "delattr",
    "delitem",
}  # not setenv

RuleFn = Callable[[ParsedFile, TestDef, list[Check]], Iterator[Finding]]


def finding(pf: ParsedFile, rule: str, node: ast.AST, test: str | None, message: str) -> Finding:
    return Finding(
        rule,
        pf.path,
        getattr(node, "lineno", 1),
        getattr(node, "col_offset", 0) + 1,
        test,
        message,
        RULES[rule].severity.value,
    )


def effective(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.trivial]


def is_placeholder(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(fn.body)
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is ...:
            continue
        if (
            isinstance(stmt, ast.Raise)
            and stmt.exc is not None
            and dotted(stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc).endswith(
                "NotImplementedError"
            )
        ):
            continue
        return False
    return True


def r_placeholder_cannot_fail(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    if is_placeholder(t.node):
        yield finding(pf, "placeholder", t.node, t.nodeid, "test body is a placeholder")
    elif not effective(checks) and not _skips_itself(pf, t):
        extra = " (only trivially true assertions)" if checks else ""
        yield finding(pf, "cannot-fail", t.node, t.nodeid, f"test contains no effective check{extra}")


def _skips_itself(pf: ParsedFile, t: TestDef) -> bool:
    return any(
        isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and (is_pytest_call(pf, s.value, {"skip", "xfail"}) or dotted(s.value.func) == "self.skipTest")
        for s in t.node.body
    )


def r_trivial(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    for c in checks:
        if c.trivial:
            yield finding(
                pf,
                "trivial-assert",
                c.node,
                t.nodeid,
                "assertion is always true: " + ast.unparse(c.node)[:80],
            )


def r_weak(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    eff = effective(checks)
    if (
        eff
        and all(c.weak for c in eff)
        and not all(is_did_not_crash_check(c, built_names(t.node)) for c in eff)
    ):
        yield finding(
            pf,
            "weak-assert",
            eff[0].node,
            t.nodeid,
            f"all {len(eff)} check(s) are weak (existence/type/truthiness only)",
        )


def r_weak_tests(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    for rule, node, message in weak_test_findings(pf, t, effective(checks)):
        yield finding(pf, rule, node, t.nodeid, message)


def _swallows(handler: ast.ExceptHandler) -> bool:
    for stmt in handler.body:
        if isinstance(stmt, ast.Pass | ast.Continue | ast.Return | ast.Break):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            d = dotted(stmt.value.func)
            if call_name(stmt.value) in {
                "print",
                "debug",
                "info",
                "warning",
                "warn",
                "error",
                "exception",
                "log",
                "critical",
            } or d.startswith(("logging.", "logger.", "log.")):
                continue
        return False
    return True


def _catches_all(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(t is not None and dotted(t) in {"Exception", "BaseException"} for t in types)


def _is_broad(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted(x) in {"Exception", "BaseException", "AssertionError"} for x in types)


def r_swallowed(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    for node in ast.walk(t.node):
        if not isinstance(node, ast.Try):
            continue
        in_body = {id(n) for stmt in node.body for n in ast.walk(stmt)}
        body_has_check = any(id(c.node) in in_body and not c.is_unconditional_fail for c in checks)
        for h in node.handlers:
            if _swallows(h) and _is_broad(h) and (h.type is None or body_has_check or _catches_all(h)):
                yield finding(
                    pf,
                    "swallowed-failure",
                    h,
                    t.nodeid,
                    "except handler swallows the failure of the code it wraps",
                )
                return
    eff = [c for c in effective(checks) if not c.is_unconditional_fail]
    fails_outside = any(c.is_unconditional_fail and not c.in_except for c in checks)
    if eff and all(c.in_except for c in eff) and not fails_outside:
        yield finding(
            pf,
            "swallowed-failure",
            eff[0].node,
            t.nodeid,
            "checks run only inside except blocks: the test passes when nothing is raised",
        )


def _broad_arg(node: ast.AST | None) -> bool:
    if node is None:
        return False
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    return any(dotted(x) in {"Exception", "BaseException", "builtins.Exception"} for x in items)


def r_broad_raises(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    used = {n.id for n in ast.walk(t.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for node in ast.walk(t.node):
        items = node.items if isinstance(node, ast.With | ast.AsyncWith) else []
        for item in items:
            call = item.context_expr
            if not isinstance(call, ast.Call):
                continue
            is_raises = is_pytest_call(pf, call, {"raises"}) or call_name(call) == "assertRaises"
            if not is_raises or not call.args or not _broad_arg(call.args[0]):
                continue
            if any(k.arg in {"match", "msg"} for k in call.keywords):
                continue
            if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id in used:
                continue
            yield finding(
                pf,
                "broad-raises",
                call,
                t.nodeid,
                f"{dotted(call.func)}({ast.unparse(call.args[0])}) accepts any error; add match=",
            )
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if (
                (is_pytest_call(pf, call, {"raises"}) or call_name(call) == "assertRaises")
                and len(call.args) > 1
                and _broad_arg(call.args[0])
                and not any(k.arg == "match" for k in call.keywords)
            ):
                yield finding(pf, "broad-raises", call, t.nodeid, "raises(Exception, ...) accepts any error")


def r_sleep(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    in_loop: set[int] = set()
    for node in ast.walk(t.node):
        if isinstance(node, ast.For | ast.While | ast.AsyncFor):
            in_loop.update(id(n) for n in ast.walk(node))
    for node in ast.walk(t.node):
        if not isinstance(node, ast.Call) or id(node) in in_loop or call_name(node) != "sleep":
            continue
        d = dotted(node.func)
        origin = pf.imports.get(d, d) if "." not in d else d
        if origin.split(".")[0] not in {"time", "asyncio", "anyio", "trio", "gevent"}:
            continue
        arg = node.args[0] if node.args else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, int | float) and arg.value > 0:
            yield finding(
                pf,
                "sleep-sync",
                node,
                t.nodeid,
                f"{d}({arg.value}) used to wait; wait on a condition with a deadline",
            )


def _is_patch(pf: ParsedFile, node: ast.AST) -> bool:
    call = node.func if isinstance(node, ast.Call) else node
    d = dotted(call)
    parts = d.split(".")
    if parts[-1] not in _PATCH_NAMES:
        return False
    if parts[0] in {"mocker", "monkeypatch"}:
        return True
    return "patch" in parts or pf.imports.get(parts[0], "").endswith("patch")


def _patch_target(call: ast.Call) -> tuple[str, str] | None:
    """(module-ish, attribute) patched by this call, when statically known."""
    if not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and "." in first.value:
        mod, _, attr = first.value.rpartition(".")
        return mod, attr
    if len(call.args) > 1 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
        return dotted(first), call.args[1].value
    return None


def r_mock(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    decos = [d for c in t.class_chain for d in c.decorator_list] + list(t.node.decorator_list)
    patches: list[ast.AST] = [d for d in decos if _is_patch(pf, d)]
    patches += [n for n, _ in walk_body(t.node) if isinstance(n, ast.Call) and _is_patch(pf, n)]
    if len(patches) > MOCK_THRESHOLD:
        yield finding(
            pf,
            "mock-overuse",
            t.node,
            t.nodeid,
            f"{len(patches)} patches apply to this test (threshold {MOCK_THRESHOLD})",
        )
        return
    subject = pf.stem.removeprefix("test_").removesuffix("_test")
    called = {call_name(n) for n, _ in walk_body(t.node) if isinstance(n, ast.Call)}
    for p in patches:
        target = _patch_target(p) if isinstance(p, ast.Call) else None
        if target and target[0].split(".")[-1] == subject and target[1] in called:
            yield finding(
                pf,
                "mock-overuse",
                p,
                t.nodeid,
                f"patches {target[1]} of the module under test ({subject}) and then calls it",
            )
            return


def r_unittest_in_pytest(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    if t.style != "pytest":
        return
    for c in checks:
        if (
            c.kind == "unittest"
            and isinstance(c.node, ast.Call)
            and is_camel_assert(call_name(c.node))
            and not _own_helper(pf, t, c.node)
        ):
            yield finding(
                pf,
                "unittest-in-pytest",
                c.node,
                t.nodeid,
                f"unittest-style {call_name(c.node)} in a pytest-style test; use assert",
            )
            return
        if c.kind == "assert-call" and pf.imports.get(call_name(c.node), "").startswith("nose."):  # type: ignore[arg-type]
            yield finding(pf, "unittest-in-pytest", c.node, t.nodeid, "nose-style assertion in a pytest test")
            return


def _own_helper(pf: ParsedFile, t: TestDef, call: ast.Call) -> bool:
    """``self.assertFoo`` defined by the test's own class (or a same-file base): a project helper."""
    name = call_name(call)
    return any(
        isinstance(i, ast.FunctionDef | ast.AsyncFunctionDef) and i.name == name
        for c in t.class_chain
        for owner in class_hierarchy(pf, c)
        for i in owner.body
    )


def skip_problem(pf: ParsedFile, deco: ast.AST) -> str | None:
    """Why this decorator/mark is an unconditional skip without reason, or None."""
    call = deco if isinstance(deco, ast.Call) else None
    d = dotted(call.func if call else deco)
    name = d.split(".")[-1]
    origin = pf.imports.get(d, d)
    if name == "expectedFailure":
        return "unittest.expectedFailure cannot carry a reason"
    is_mark = "mark" in d.split(".") or origin.startswith("pytest.mark")
    is_unittest = d.startswith("unittest.") or origin.startswith("unittest.")
    if name not in {"skip", "xfail", "skipif"} or not (is_mark or is_unittest):
        return None
    if call is None:
        return f"@{d} without a reason"
    reason = next((k.value for k in call.keywords if k.arg == "reason"), None)
    if name == "skipif":
        cond = call.args[0] if call.args else None
        if (
            isinstance(cond, ast.Constant)
            and not isinstance(cond.value, str)
            and cond.value
            and reason is None
        ):
            return f"@{d}({ast.unparse(cond)}) is unconditional and has no reason"
        return None
    if name == "xfail" and call.args:
        return None  # a condition is given
    if reason is None and name == "skip" and call.args:
        reason = call.args[0]
    if reason is None or (isinstance(reason, ast.Constant) and not reason.value):
        return f"@{d} without a reason"
    return None


def r_skip(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    for deco in [d for c in t.class_chain for d in c.decorator_list] + list(t.node.decorator_list):
        why = skip_problem(pf, deco)
        if why:
            yield finding(pf, "unconditional-skip", deco, t.nodeid, why)
            return
    for stmt in t.node.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            named = is_pytest_call(pf, call, {"skip", "xfail"}) or dotted(call.func) == "self.skipTest"
            has_reason = any(isinstance(a, ast.Constant) and a.value for a in call.args) or any(
                k.arg in {"reason", "msg"} for k in call.keywords
            )
            if named and not has_reason:
                yield finding(
                    pf, "unconditional-skip", call, t.nodeid, f"{dotted(call.func)}() without a reason"
                )
                return


def r_print(pf: ParsedFile, t: TestDef, checks: list[Check]) -> Iterator[Finding]:
    if effective(checks) or is_placeholder(t.node):
        return
    for node, _ in walk_body(t.node):
        if isinstance(node, ast.Call) and call_name(node) in {"print", "pprint", "pp"}:
            yield finding(pf, "print-not-assert", node, t.nodeid, "prints a value instead of asserting it")
            return


TEST_RULES: list[RuleFn] = [
    r_placeholder_cannot_fail,
    r_trivial,
    r_weak,
    r_weak_tests,
    r_swallowed,
    r_broad_raises,
    r_sleep,
    r_mock,
    r_unittest_in_pytest,
    r_skip,
    r_print,
]
