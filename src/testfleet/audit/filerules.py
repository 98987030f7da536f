"""File-level rules and the per-file driver that runs every rule on one parsed file."""

from __future__ import annotations

import ast
from collections import defaultdict

from testfleet.audit.checks import CheckFinder, dotted
from testfleet.audit.classify import classify
from testfleet.audit.discover import ParsedFile, TestDef
from testfleet.audit.model import FileReport, Finding, TestCaseInfo
from testfleet.audit.registry import RULES
from testfleet.audit.rules import TEST_RULES, finding, skip_problem

DUP_MIN_TESTS = 3
_MIN_LITERAL_ELEMENTS = 3


_MIN_FLAT_ELEMENTS = 5


def _literal_size(node: ast.AST) -> int:
    """Elements of a literal worth a fixture: dicts from 3 keys, nested containers from 3 elements,
    flat lists/tuples of scalars only from 5 (``[1, 2, 3]`` or an argv list is data, not setup)."""
    if isinstance(node, ast.Dict):
        return len(node.keys)
    if isinstance(node, ast.List | ast.Set | ast.Tuple):
        nested = any(isinstance(e, ast.List | ast.Set | ast.Tuple | ast.Dict) for e in node.elts)
        return len(node.elts) if nested or len(node.elts) >= _MIN_FLAT_ELEMENTS else 0
    return 0


def _top_literals(fn: ast.AST) -> list[ast.AST]:
    """Outermost dict/list/set/tuple literals with at least three elements, made only of constants."""
    out: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        if _literal_size(node) >= _MIN_LITERAL_ELEMENTS and all(
            isinstance(
                n,
                ast.Constant | ast.Dict | ast.List | ast.Set | ast.Tuple | ast.Load | ast.UnaryOp | ast.USub,
            )
            for n in ast.walk(node)
        ):
            out.append(node)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in getattr(fn, "body", []):
        visit(stmt)
    return out


def _setup_windows(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, ast.stmt]]:
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    out = []
    for i in range(len(body) - 2):
        window = body[i : i + 3]
        if all(isinstance(s, ast.Assign | ast.AnnAssign | ast.Expr | ast.With) for s in window) and not any(
            isinstance(n, ast.Assert) for s in window for n in ast.walk(s)
        ):
            out.append(("\n".join(ast.dump(s) for s in window), window[0]))
    return out


def duplicated_setup(pf: ParsedFile) -> list[Finding]:
    seen: dict[str, list[tuple[TestDef, ast.AST]]] = defaultdict(list)
    for t in pf.tests:
        keys: dict[str, ast.AST] = {}
        for lit in _top_literals(t.node):
            keys.setdefault("lit:" + ast.dump(lit), lit)
        for key, stmt in _setup_windows(t.node):
            keys.setdefault("blk:" + key, stmt)
        for key, node in keys.items():
            seen[key].append((t, node))
    out: list[Finding] = []
    flagged: set[str] = set()
    for key, occ in seen.items():
        tests = {t.nodeid for t, _ in occ}
        if len(tests) < DUP_MIN_TESTS:
            continue
        what = "literal" if key.startswith("lit:") else "setup block"
        for t, node in occ:
            if t.nodeid in flagged:
                continue
            flagged.add(t.nodeid)
            others = ", ".join(f"{o.nodeid} (line {n.lineno})" for o, n in occ if o is not t)[:200]  # type: ignore[attr-defined]
            out.append(
                finding(
                    pf,
                    "duplicated-setup",
                    node,
                    t.nodeid,
                    f"same {what} also in {others}; move it to a fixture",
                )
            )
    return out


def style_mix(pf: ParsedFile) -> list[Finding]:
    unit = [t for t in pf.tests if t.style == "unittest"]
    plain = [t for t in pf.tests if t.style == "pytest"]
    if not unit or not plain:
        return []
    first = min(unit + plain, key=lambda t: t.node.lineno)
    return [
        finding(
            pf,
            "unittest-in-pytest",
            first.node,
            None,
            f"file mixes {len(unit)} unittest.TestCase test(s) with {len(plain)} pytest-style test(s)",
        )
    ]


def module_skip(pf: ParsedFile) -> list[Finding]:
    out = []
    assert pf.tree is not None
    for stmt in pf.tree.body:
        if isinstance(stmt, ast.Assign) and any(dotted(t) == "pytestmark" for t in stmt.targets):
            marks = stmt.value.elts if isinstance(stmt.value, ast.List | ast.Tuple) else [stmt.value]
            for m in marks:
                why = skip_problem(pf, m)
                if why:
                    out.append(finding(pf, "unconditional-skip", m, None, f"module pytestmark: {why}"))
    return out


def analyze(pf: ParsedFile) -> FileReport:
    """Run every rule over one parsed file and classify its tests."""
    report = FileReport(path=pf.path, error=pf.error)
    if pf.error is not None or pf.tree is None:
        report.findings.append(
            Finding(
                "parse-error",
                pf.path,
                1,
                1,
                None,
                pf.error or "unparsable",
                RULES["parse-error"].severity.value,
            )
        )
        return report
    finder = CheckFinder(pf)
    for t in pf.tests:
        checks = finder.checks(t.node, t)
        for rule in TEST_RULES:
            report.findings.extend(rule(pf, t, checks))
        types, evidence = classify(pf, t)
        report.tests.append(TestCaseInfo(t.nodeid, pf.path, t.node.lineno, t.style, types, evidence))
    report.findings.extend(duplicated_setup(pf))
    report.findings.extend(style_mix(pf))
    report.findings.extend(module_skip(pf))
    report.findings.sort(key=lambda f: (f.line, f.col, f.rule))
    return report
