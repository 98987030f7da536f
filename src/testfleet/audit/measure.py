"""``--run``: run the suite through testfleet's workers (plain pytest when testfleet's runner is not
available) with the probe plugin, then combine per-worker coverage data and per-test records.

Coverage per component comes from coverage.py's JSON report (files, and the functions/classes
regions it reports); per-test coverage comes from the dynamic contexts the probe sets (one per node
id), which ``--mutate`` uses to pick the tests that cover a function.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testfleet.audit.model import AuditResult, ComponentReport, TestCaseInfo
from testfleet.audit.options import AuditOptions, Progress, display_path
from testfleet.audit.probe import ENV_COVRC, ENV_DIR, ENV_FLEET, ENV_SOURCE

_OMIT = ["*/tests/*", "*/test_*.py", "*_test.py", "*/conftest.py", "*/testing/*"]
_ORDER = ["crashed", "timeout", "error", "failed", "xpassed", "passed", "xfailed", "skipped"]


@dataclass
class RunData:
    workdir: Path
    source: list[str]
    cwd: Path
    command_prefix: list[str]
    # absolute source file -> line -> node ids that executed it
    lines_by_test: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)  # node id -> seconds
    nodeid_file: dict[str, str] = field(default_factory=dict)  # node id -> display path of test file
    rootdir: str = "."  # pytest's rootdir: node ids are relative to it

    def component_name(self, abs_file: str) -> str:
        base = Path(self.source[0]).parent if self.source else Path(".")
        return display_path(Path(abs_file), base)


def default_source(opts: AuditOptions) -> list[str]:
    if opts.source:
        return [str(Path(s).resolve()) for s in opts.source]
    root = Path(opts.root).resolve()
    if (root / "src").is_dir():
        return [str(root / "src")]
    for p in opts.paths:
        d = Path(p).resolve()
        d = d if d.is_dir() else d.parent
        top = None
        while (d / "__init__.py").exists():
            top, d = d, d.parent
        if top is not None:
            return [str(top)]
    return [str(root)]


def fleet_available() -> bool:
    return importlib.util.find_spec("testfleet.cli.run") is not None


def _command(opts: AuditOptions, report_json: Path, via: str) -> list[str]:
    common = [
        "-p",
        "testfleet.audit.probe",
        "-o",
        "enable_assertion_pass_hook=true",
        "-p",
        "no:cacheprovider",
        "-q",
        *opts.pytest_args,
    ]
    if via == "testfleet":
        return [
            sys.executable,
            "-m",
            "testfleet",
            "run",
            "-w",
            str(opts.workers),
            "--db",
            "none",
            "--report-json",
            str(report_json),
            *common,
        ]
    return [sys.executable, "-m", "pytest", *common]


def coverage_config(workdir: Path, source: list[str]) -> Path:
    """A coverage.py config that measures every process: ``patch = subprocess`` starts coverage in
    every Python child (through coverage's own ``.pth`` file), ``fork`` restarts it in forked children
    (testfleet's workers, multiprocessing's fork children), ``_exit`` saves before ``os._exit`` (how
    testfleet's workers and forked children leave); ``parallel`` gives each process its own file."""
    rc = workdir / "coveragerc"
    src = "".join(f"\n    {s}" for s in source)
    rc.write_text(
        f"[run]\nbranch = true\nparallel = true\ndata_file = {workdir / '.coverage'}\n"
        f"source ={src}\npatch =\n    subprocess\n    _exit\n    fork\n"
        "concurrency =\n    multiprocessing\n    thread\nsigterm = true\n"
        "disable_warnings =\n    module-not-measured\n    no-data-collected\n    module-not-imported\n",
        encoding="utf-8",
    )
    return rc


def probe_env(workdir: Path, source: list[str], fleet: bool) -> dict[str, str]:
    env = dict(os.environ)
    for inherited in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"):
        env.pop(inherited, None)  # the probe sets them where the measured processes start
    env.update(
        {
            ENV_DIR: str(workdir),
            ENV_SOURCE: os.pathsep.join(source),
            ENV_FLEET: "1" if fleet else "0",
            ENV_COVRC: str(coverage_config(workdir, source)),
            "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
        }
    )  # fresh rewrite with the pass hook
    return env


def _worst(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return min(a, b, key=lambda o: _ORDER.index(o) if o in _ORDER else 0)


def measure(result: AuditResult, opts: AuditOptions, say: Progress) -> RunData | None:
    m = result.measurement
    workdir = Path(tempfile.mkdtemp(prefix="testfleet-audit-"))
    source = default_source(opts)
    report_json = workdir / "report.json"
    # the test files are measured too (executed check lines); components leave them out (_OMIT)
    tests_at = [str(Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent) for p in opts.paths]
    measured = source + [t for t in tests_at if not any(t.startswith(s) for s in source)]
    records: list[dict[str, Any]] = []
    for via in (["testfleet"] if fleet_available() else []) + ["pytest"]:
        for stale in [*workdir.glob(".coverage.*"), *workdir.glob("tests-*.jsonl")]:
            stale.unlink()
        cmd = _command(opts, report_json, via) + [str(Path(p).resolve()) for p in opts.paths]
        m.command, m.via, m.ran = cmd, via, True
        say(f"{via}: {' '.join(cmd[2:8])} ... (coverage of {', '.join(source)})")
        try:
            proc = subprocess.run(
                cmd,
                cwd=opts.root,
                env=probe_env(workdir, measured, via == "testfleet"),
                capture_output=True,
                text=True,
                timeout=opts.timeout,
                check=False,
            )
            m.exit_code = proc.returncode
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        except subprocess.TimeoutExpired:
            m.problems.append(f"the measured run exceeded --timeout {opts.timeout:g}s; partial data only")
            tail = []
        if m.exit_code in (2, 3, 4):
            m.problems.append(
                f"`{via}` run ended with exit code {m.exit_code} (collection, usage or internal "
                "error): " + " | ".join(tail)[-400:]
            )
        records = _read_records(workdir)
        if records or m.exit_code not in (3,):
            break
        m.problems.append(
            "testfleet's runner failed internally; measured again with plain pytest "
            "(one process, no per-worker data)"
        )
    if not records:
        m.problems.append(
            "no test was executed by the measured run, so coverage, executed checks and "
            "durations are not measured"
        )
        return None
    _apply_records(result, records, Path(opts.root), m.zero_check_passes)
    _apply_report_json(result, report_json, Path(opts.root))
    data = RunData(workdir, source, Path(opts.root).resolve(), cmd[: cmd.index("-p")])
    data.durations = {r["nodeid"]: r["duration"] for r in records}
    data.nodeid_file = {r["nodeid"]: display_path(Path(r["file"]), Path(opts.root)) for r in records}
    data.rootdir = records[0].get("rootdir", str(data.cwd))
    _coverage(result, data, opts, say)
    _flakiness(result, opts)
    return data


def _read_records(workdir: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(workdir.glob("tests-*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
    return out


def _static_index(result: AuditResult) -> dict[tuple[str, str], TestCaseInfo]:
    return {(t.path, t.test): t for t in result.tests}


def _split(nodeid: str) -> str:
    name = nodeid.split("::", 1)[1] if "::" in nodeid else nodeid
    return name.split("[", 1)[0]


def _apply_records(result: AuditResult, records: list[dict[str, Any]], root: Path, zero: list[str]) -> None:
    index = _static_index(result)
    for r in records:
        t = index.get((display_path(Path(r["file"]), root), _split(r["nodeid"])))
        if t is None:
            continue
        t.outcome = _worst(t.outcome, r["outcome"])
        t.duration = (t.duration or 0.0) + r["duration"]
        t.executed_checks = r["checks"] if t.executed_checks is None else min(t.executed_checks, r["checks"])
        if r["outcome"] == "passed" and r["checks"] == 0:
            zero.append(f"{t.path}::{r['nodeid'].split('::', 1)[-1]}")


def _apply_report_json(result: AuditResult, path: Path, root: Path) -> None:
    """Outcomes only the controller knows (crashed, timeout) override the probe's records."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    index = _static_index(result)
    for rec in data.get("tests", []):
        nodeid = rec.get("nodeid", "")
        file_part = nodeid.split("::", 1)[0]
        t = index.get((display_path(root / file_part, root), _split(nodeid)))
        if t is not None and rec.get("outcome") in {"crashed", "timeout", "not_run", "unschedulable"}:
            t.outcome = _worst(t.outcome, "crashed" if rec["outcome"] != "timeout" else "timeout")


def _check_lines(path: Path) -> dict[str, set[int]]:
    """Lines of every static check (assert, raise, check calls, calls of checking helpers) of each
    test of a file, by node id within the file."""
    from testfleet.audit.checks import CheckFinder
    from testfleet.audit.discover import parse_file

    pf = parse_file(path, path.name)
    if pf.error is not None:
        return {}
    finder = CheckFinder(pf)
    return {t.nodeid: {c.line for c in finder.checks(t.node, t)} for t in pf.tests}


def _coverage(result: AuditResult, data: RunData, opts: AuditOptions, say: Progress) -> None:
    m = result.measurement
    try:
        import coverage
    except ImportError:
        m.problems.append("coverage is not installed (pip install 'testfleet[audit]'): coverage not measured")
        return
    files = list(data.workdir.glob(".coverage.*"))
    if not files:
        m.problems.append("no coverage data file was written by the workers: coverage not measured")
        return
    cov = coverage.Coverage(
        data_file=str(data.workdir / ".coverage"),
        branch=True,
        config_file=False,
        source=data.source,
        omit=_OMIT,
    )
    cov.combine([str(data.workdir)], keep=False)
    cov.save()
    say(f"combined {len(files)} coverage data file(s)")
    report = data.workdir / "coverage.json"
    try:
        cov.json_report(outfile=str(report), omit=_OMIT, ignore_errors=True)
        js = json.loads(report.read_text(encoding="utf-8"))
    except coverage.exceptions.NoDataError:
        m.problems.append("coverage measured no source file under " + ", ".join(data.source))
        js = {"files": {}, "totals": {}}
    _components(m, js, data)
    cdata = cov.get_data()
    cdata.set_query_contexts(None)
    for f in cdata.measured_files():
        by_line = cdata.contexts_by_lineno(f)
        data.lines_by_test[f] = {ln: {c for c in ctxs if c} for ln, ctxs in by_line.items()}
    _executed_sites(result, data)


def _components(m: Any, js: dict[str, Any], data: RunData) -> None:
    packages: dict[str, ComponentReport] = {}
    for fname, info in sorted(js.get("files", {}).items()):
        s = info["summary"]
        rel = data.component_name(fname)
        mod = ComponentReport(
            rel,
            "module",
            s["num_statements"],
            s["covered_lines"],
            s.get("num_branches", 0),
            s.get("covered_branches", 0),
        )
        m.components.append(mod)
        pkg = packages.setdefault(str(Path(rel).parent), ComponentReport(str(Path(rel).parent), "package"))
        for attr in ("statements", "covered_statements", "branches", "covered_branches"):
            setattr(pkg, attr, getattr(pkg, attr) + getattr(mod, attr))
        for kind, key in (("function", "functions"), ("class", "classes")):
            for name, region in (info.get(key) or {}).items():
                if not name:
                    continue
                rs = region["summary"]
                m.functions.append(
                    ComponentReport(
                        f"{rel}:{name}",
                        kind,
                        rs["num_statements"],
                        rs["covered_lines"],
                        rs.get("num_branches", 0),
                        rs.get("covered_branches", 0),
                    )
                )
    m.components = sorted(packages.values(), key=lambda c: c.name) + m.components
    totals = js.get("totals", {})
    m.total_statements, m.covered_statements = totals.get("num_statements", 0), totals.get("covered_lines", 0)
    m.total_branches, m.covered_branches = totals.get("num_branches", 0), totals.get("covered_branches", 0)


def _executed_sites(result: AuditResult, data: RunData) -> None:
    """A test whose hooks counted 0 checks but executed a check line of its own body (a call of a
    checking helper that returned normally, a check call of a non-rewritten module) is credited with
    those sites."""
    m = result.measurement
    by_file: dict[str, list[TestCaseInfo]] = defaultdict(list)
    for t in result.tests:
        if t.executed_checks == 0:
            by_file[t.path].append(t)
    still_zero = set()
    for path, tests in by_file.items():
        abs_path = str((data.cwd / path).resolve())
        lines = data.lines_by_test.get(abs_path, {})
        sites = _check_lines(Path(abs_path))
        for t in tests:
            hit = {
                ln
                for ln in sites.get(t.test, set())
                if any(_split(c) == t.test for c in lines.get(ln, set()))
            }
            if hit:
                t.executed_checks = len(hit)
            else:
                still_zero.add(f"{t.path}::{t.test}")
    m.zero_check_passes = [z for z in m.zero_check_passes if z.split("[", 1)[0] in still_zero]


def _flakiness(result: AuditResult, opts: AuditOptions) -> None:
    m = result.measurement
    try:
        from testfleet.store import open_store
    except ImportError:
        m.problems.append(
            "flakiness not measured: the results store API (testfleet.store.open_store) is not available"
        )
        return
    path = Path(opts.store or Path(opts.root) / ".testfleet" / "results.duckdb")
    if not path.exists():
        m.problems.append(f"flakiness not measured: no results store at {path} (no history)")
        return
    store = open_store(path, rootdir=opts.root)
    try:
        runs = store.runs(limit=20)
        results = [r for run in runs for r in store.results(run.run_id) if r.final]
    finally:
        store.close()
    if not results:
        m.problems.append(f"flakiness not measured: {path} holds no finished test results")
        return
    flaky: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for r in results:
        total[r.nodeid] += 1
        flaky[r.nodeid] += int(r.flaky)
    m.flaky_rate = sum(flaky.values()) / sum(total.values())
    index = {f"{t.path}::{t.test}": t for t in result.tests}
    for nodeid, n in total.items():
        t = index.get(nodeid.split("[", 1)[0])
        if t is not None:
            t.flaky_rate = flaky[nodeid] / n
