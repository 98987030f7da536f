"""``--mutate[=N]``: AST mutants of covered functions, each run against only the tests that cover it.

Operators: ``default-return`` (body becomes ``return <default>``; an empty generator for generators),
``flip-compare`` (the first comparison in the function gets its opposite operator) and ``drop-call``
(the first call statement becomes ``pass``). Mutants are ordered round-robin over functions (every
function's default-return first), capped at N. By default (``mutate_via="fleet"``) they run as work items of one ``testfleet run``
(see ``mutant_plugin``): every (mutant, covering test) pair is scheduled over the fleet's workers.
With ``mutate_via="pytest"`` each mutant is one pytest process (``--workers`` at a time) whose
bootstrap plugin serves the mutated source for the target file; a mutant whose source was never
imported counts as not run.
"""

from __future__ import annotations

import ast
import copy
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testfleet.audit.measure import RunData
from testfleet.audit.model import AuditResult, ComponentReport
from testfleet.audit.options import AuditOptions, Progress

MAX_TESTS_PER_MUTANT = 40
MAX_TESTS_PER_MUTANT_FLEET = 10  # a mutant's items run on several workers: it stops at the first kill seen
# A mutant whose tests take longer than TIMEOUT_FACTOR x their baseline (unmutated) time is stopped
# and counted "timeout", a kill (as mutmut does): a mutant that loops forever must not hold the run.
TIMEOUT_FACTOR = 10.0
FLEET_ITEM_SLACK = 5.0  # seconds added to a fleet item's limit: its baseline is one test, in a live worker
_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BOOT = '''"""testfleet audit mutant bootstrap: serve mutated source for one file (generated)."""
import importlib.abc, importlib.machinery, importlib.util, os, sys
_TARGET = os.path.realpath(os.environ["TESTFLEET_MUTANT_TARGET"])
_SOURCE = open(os.environ["TESTFLEET_MUTANT_SOURCE"], encoding="utf-8").read()
_MARK = os.environ["TESTFLEET_MUTANT_MARK"]
class _Loader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):
        open(_MARK, "w").close()
        return compile(_SOURCE, self.path, "exec", dont_inherit=True)
class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or os.path.realpath(spec.origin) != _TARGET:
            return None
        loader = _Loader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=loader,
            submodule_search_locations=spec.submodule_search_locations)
sys.meta_path.insert(0, _Finder())
'''


@dataclass
class Mutant:
    file: str  # absolute path of the source file
    function: str  # qualified name
    line: int
    kind: str
    source: str
    tests: list[str] = field(default_factory=list)
    outcome: str = "not-run"  # killed | survived | timeout | error | not-applied
    seconds: float = 0.0


def _default_for(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr:
    ann = ast.unparse(fn.returns) if fn.returns else ""
    table = {
        "bool": ast.Constant(False),
        "int": ast.Constant(0),
        "float": ast.Constant(0.0),
        "str": ast.Constant(""),
        "bytes": ast.Constant(b""),
        "list": ast.List([], ast.Load()),
        "dict": ast.Dict([], []),
    }
    return table.get(ann.split("[")[0], ast.Constant(None))


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{prefix}{child.name}", child
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")

    yield from visit(tree, "")


def _mutate(tree: ast.Module, line: int, kind: str) -> str | None:
    tree = copy.deepcopy(tree)
    fn = next((f for _, f in _functions(tree) if f.lineno == line), None)
    if fn is None:
        return None
    doc = (
        fn.body[:1]
        if fn.body
        and isinstance(fn.body[0], ast.Expr)
        and isinstance(getattr(fn.body[0], "value", None), ast.Constant)
        else []
    )
    if kind == "default-return":
        is_gen = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(fn))
        new: list[ast.stmt] = [ast.Return(None if is_gen else _default_for(fn))]
        if is_gen:
            new.append(ast.Expr(ast.Yield(None)))
        fn.body = doc + new
    elif kind == "flip-compare":
        cmp = next((n for n in ast.walk(fn) if isinstance(n, ast.Compare) and type(n.ops[0]) in _FLIP), None)
        if cmp is None:
            return None
        cmp.ops[0] = _FLIP[type(cmp.ops[0])]()
    elif kind == "drop-call":
        docnode = doc[0] if doc else None
        spot = next(
            (
                (stmts, i)
                for p in ast.walk(fn)
                for name in ("body", "orelse", "finalbody")
                for stmts in [getattr(p, name, None)]
                if isinstance(stmts, list)
                for i, st in enumerate(stmts)
                if isinstance(st, ast.Expr)
                and isinstance(st.value, ast.Call | ast.Await)
                and st is not docnode
            ),
            None,
        )
        if spot is None:
            return None
        spot[0][spot[1]] = ast.Pass()
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def plan(data: RunData, cap: int) -> list[Mutant]:
    per_kind: dict[str, list[Mutant]] = defaultdict(list)
    for file in sorted(data.lines_by_test):
        if (
            not any(file.startswith(s) for s in data.source)
            or "/tests/" in file
            or os.path.basename(file).startswith(("test_", "conftest"))
        ):
            continue
        try:
            tree = ast.parse(Path(file).read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        lines = data.lines_by_test[file]
        for qual, fn in _functions(tree):
            first = fn.body[0].lineno
            tests = sorted(
                {t for ln in range(first, (fn.end_lineno or first) + 1) for t in lines.get(ln, ())}
            )
            if not tests:
                continue
            tests.sort(key=lambda t: data.durations.get(t, 0.0))
            for kind in ("default-return", "flip-compare", "drop-call"):
                src = _mutate(tree, fn.lineno, kind)
                if src is not None:
                    per_kind[kind].append(
                        Mutant(file, qual, fn.lineno, kind, src, tests[:MAX_TESTS_PER_MUTANT])
                    )
    ordered = per_kind["default-return"] + per_kind["flip-compare"] + per_kind["drop-call"]
    return ordered[:cap]


def _pytest_command(tests: list[str], data: RunData, *plugins: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *plugins,
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--no-header",
        *[f"{data.rootdir}/{t}" for t in tests],
    ]


def startup_seconds(mutants: list[Mutant], data: RunData) -> float:
    """What one pytest process costs besides its tests (interpreter, imports, collection): one
    unmutated run of the fastest covering test, less that test's measured duration."""
    test = min((t for m in mutants for t in m.tests), key=lambda t: data.durations.get(t, 0.0))
    env = dict(os.environ)
    env.pop("TESTFLEET_AUDIT_DIR", None)
    start = time.perf_counter()
    subprocess.run(
        _pytest_command([test], data), cwd=data.cwd, env=env, capture_output=True, text=True, check=False
    )
    return max(0.0, time.perf_counter() - start - data.durations.get(test, 0.0))


def budget(m: Mutant, data: RunData, startup: float) -> float:
    """The time limit of one mutant's pytest process: TIMEOUT_FACTOR x its baseline (process
    start-up plus its tests' measured durations)."""
    return TIMEOUT_FACTOR * (startup + sum(data.durations.get(t, 0.0) for t in m.tests))


def _run_one(m: Mutant, idx: int, data: RunData, workdir: Path, limit: float) -> Mutant:
    src = workdir / f"mutant-{idx}.py"
    src.write_text(m.source, encoding="utf-8")
    mark = workdir / f"mutant-{idx}.loaded"
    env = dict(
        os.environ,
        TESTFLEET_MUTANT_TARGET=m.file,
        TESTFLEET_MUTANT_SOURCE=str(src),
        TESTFLEET_MUTANT_MARK=str(mark),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join([str(workdir), os.environ.get("PYTHONPATH", "")]),
    )
    for k in ("TESTFLEET_AUDIT_DIR",):
        env.pop(k, None)
    cmd = _pytest_command(m.tests, data, "-p", "_testfleet_mutant_boot")  # -x: stops at the first kill
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=data.cwd, env=env, capture_output=True, text=True, timeout=limit, check=False
        )
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        rc = None
    m.seconds = time.perf_counter() - start
    if not mark.exists():
        m.outcome = "not-applied"
    elif rc is None:
        m.outcome = "timeout"
    else:
        m.outcome = {0: "survived", 1: "killed"}.get(rc, "error")
    return m


def run_on_fleet(
    mutants: list[Mutant], data: RunData, opts: AuditOptions, workdir: Path, say: Progress
) -> None:
    """All mutants in one ``testfleet run``: each (mutant, covering test) is a work item that the
    controller schedules over the fleet's workers; ``mutant_plugin`` applies the mutant in the
    worker around that one test. Fills each mutant's outcome and (shared) seconds."""
    import json

    from testfleet.audit.mutant_plugin import ENV_DIR, ENV_PLAN, mutant_id

    plan = workdir / "plan.json"
    for m in mutants:
        m.tests = m.tests[:MAX_TESTS_PER_MUTANT_FLEET]  # the fastest covering tests (plan() sorted them)
    plan.write_text(
        json.dumps(
            [
                {"id": i, "file": m.file, "function": m.function, "source": m.source, "tests": m.tests}
                for i, m in enumerate(mutants)
            ]
        ),
        encoding="utf-8",
    )
    report = workdir / "mutants.json"
    files = sorted({t.split("::", 1)[0] for m in mutants for t in m.tests})
    slowest = max((data.durations.get(t, 0.0) for m in mutants for t in m.tests), default=0.0)
    cmd = [
        sys.executable,
        "-m",
        "testfleet",
        "run",
        "-w",
        str(opts.workers),
        "--db",
        "none",
        "--report-json",
        str(report),
        "--timeout",
        f"{FLEET_ITEM_SLACK + TIMEOUT_FACTOR * slowest:.1f}",
        "-p",
        "testfleet.audit.mutant_plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-q",
        *[f"{data.rootdir}/{f}" for f in files],
    ]
    env = dict(os.environ, **{ENV_PLAN: str(plan), ENV_DIR: str(workdir)})
    for k in ("TESTFLEET_AUDIT_DIR", "COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"):
        env.pop(k, None)
    say(
        f"running {len(mutants)} mutants as {sum(len(m.tests) for m in mutants)} work items on "
        f"{opts.workers} testfleet workers"
    )
    start = time.perf_counter()
    try:
        subprocess.run(
            cmd, cwd=data.cwd, env=env, capture_output=True, text=True, timeout=opts.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pass
    seconds = time.perf_counter() - start
    try:
        tests = json.loads(report.read_text(encoding="utf-8")).get("tests", [])
    except (OSError, ValueError):
        tests = []
    outcomes: dict[int, list[str]] = defaultdict(list)
    for rec in tests:
        mid = mutant_id(str(rec.get("nodeid", "")))
        if mid is not None:
            outcomes[mid].append(str(rec.get("outcome")))
    say(f"{len(mutants)} mutants in {seconds:.1f}s ({len(mutants) / seconds:.2f} mutants/s) on the fleet")
    for i, m in enumerate(mutants):
        got = outcomes.get(i, [])
        m.seconds = seconds / len(mutants)
        if (workdir / f"unapplied-{i}").exists() or not got or all(o == "skipped" for o in got):
            m.outcome = "not-applied"
        elif any(o == "timeout" for o in got):
            m.outcome = "timeout"
        elif any(o in {"failed", "error", "crashed"} for o in got):
            m.outcome = "killed"
        elif all(o in {"passed", "skipped", "xfailed"} for o in got):
            m.outcome = "survived"
        else:
            m.outcome = "error"


def mutate(
    result: AuditResult, data: RunData, opts: AuditOptions, say: Progress
) -> dict[str, tuple[int, int]]:
    """Run up to ``opts.mutate`` mutants; fill the measurement; return (killed, survived) per test file."""
    meas = result.measurement
    mutants = plan(data, opts.mutate or 0)
    if not mutants:
        meas.problems.append("mutation score not measured: no covered function in the measured source")
        return {}
    workdir = data.workdir / "mutants"
    workdir.mkdir(exist_ok=True)
    meas.mutation_via = opts.mutate_via
    phase = time.perf_counter()
    if opts.mutate_via == "fleet":
        run_on_fleet(mutants, data, opts, workdir, say)
        meas.mutation_seconds = round(time.perf_counter() - phase, 3)
        return _aggregate(meas, mutants, data)
    (workdir / "_testfleet_mutant_boot.py").write_text(BOOT, encoding="utf-8")
    startup = startup_seconds(mutants, data)
    say(
        f"running {len(mutants)} mutants on {opts.workers} workers, one pytest process each "
        f"(time limit {TIMEOUT_FACTOR:g} x baseline; start-up {startup:.1f}s)"
    )
    start, done = time.perf_counter(), 0
    with ThreadPoolExecutor(max_workers=opts.workers) as pool:
        futures = [
            pool.submit(_run_one, m, i, data, workdir, budget(m, data, startup))
            for i, m in enumerate(mutants)
        ]
        for fut in as_completed(futures):
            m = fut.result()
            done += 1
            eta = (time.perf_counter() - start) / done * (len(mutants) - done)
            say(
                f"mutant {done}/{len(mutants)} {m.kind} {Path(m.file).name}:{m.function} -> {m.outcome}; "
                f"ETA {eta:.0f}s"
            )
    meas.mutation_seconds = round(time.perf_counter() - phase, 3)
    return _aggregate(meas, mutants, data)


def _aggregate(meas: Any, mutants: list[Mutant], data: RunData) -> dict[str, tuple[int, int]]:
    by_comp: dict[str, ComponentReport] = {c.name: c for c in meas.components}
    per_file: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for m in mutants:
        meas.mutant_results.append(
            {
                "file": data.component_name(m.file),
                "function": m.function,
                "line": m.line,
                "kind": m.kind,
                "outcome": m.outcome,
                "tests": len(m.tests),
                "seconds": round(m.seconds, 3),
            }
        )
        if m.outcome not in {"killed", "survived", "timeout"}:
            continue
        killed = m.outcome != "survived"
        meas.mutants_run += 1
        meas.mutants_killed += int(killed)
        name = data.component_name(m.file)
        for comp_name in (name, str(Path(name).parent)):
            comp = by_comp.get(comp_name)
            if comp is not None:
                comp.mutants += 1
                comp.killed += int(killed)
                comp.survived += int(not killed)
                if m.kind == "default-return" and not killed and comp.kind == "module":
                    comp.pseudo_tested.append(m.function)
        if m.kind == "default-return" and not killed:
            meas.pseudo_tested.append(f"{name}:{m.function}")
        for tfile in {data.nodeid_file.get(t) for t in m.tests} - {None}:
            per_file[str(tfile)][0 if killed else 1] += 1
    skipped = sum(1 for m in mutants if m.outcome in {"error", "not-applied"})
    if skipped:
        meas.problems.append(
            f"{skipped} mutant(s) not counted: the mutated module was never imported or "
            "pytest ended with a usage/collection error"
        )
    if not meas.mutants_run:
        meas.problems.append("mutation score not measured: no mutant ran to completion")
    return {k: (v[0], v[1]) for k, v in per_file.items()}
