"""Benchmark testfleet against plain pytest and pytest-xdist, on this machine, and write RESULTS.md.

Each round runs every variant once, one after the other (the order rotates from round to round so
no tool always goes first); the results use the median over rounds. Before the rounds, each suite
is collected twice with plain pytest (``--co``): once to warm the file cache and bytecode, once
timed (the startup + collection cost, used to estimate the run phase of the heavy-tail runs).

    python benchmarks/run.py                                  # all suites, 3 rounds
    python benchmarks/run.py --suite trivial --rounds 5
    python benchmarks/run.py --quick --only pytest,xdist --suite trivial --rounds 1   # smoke test
    python benchmarks/run.py --suite networkx --backend ray   # adds testfleet --backend ray

Run it with the project's venv Python (the tools run as ``<that python> -m pytest`` and
``<that python> -m testfleet``). See benchmarks/README.md for what each suite measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cpucheck  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import suites  # noqa: E402

HERE = Path(__file__).resolve().parent
FAMILIES = ("pytest", "xdist", "testfleet")
SUITE_CHOICES = (*suites.SUITE_NAMES, "all")
TIMEOUTS = {"trivial": 900.0, "heavy_tail": 300.0, "networkx": 1800.0, "fast_then_slow": 300.0}  # seconds per run (full size)
# Read from testfleet's --report-json when present; every one is optional.
REPORT_FIELDS = ("controller_peak_rss_kb", "workers", "replacements", "collect_seconds", "wall_seconds",
                 "makespan_seconds", "phases", "executor")
SCRUBBED_ENV = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_XDIST_AUTO_NUM_WORKERS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",  # a shell setting, not the tools': unbuffered output costs every tool a syscall per dot
)


@dataclass(frozen=True)
class Variant:
    """One tool configuration on one suite.

    ``argv(round)`` builds the command; ``group`` keeps variants that depend on each other
    (a testfleet run with history after the run that wrote it) together and in order.
    """

    key: str
    family: str  # pytest | xdist | testfleet: what --only selects
    suite: suites.Suite
    argv: Callable[[int], list[str]]
    group: str
    workers: int = 1
    report_path: Callable[[int], Path] | None = None
    before: Callable[[int], None] | None = None  # e.g. delete the history file of a fresh run
    notes: str = ""
    after: Callable[[int], None] | None = None  # e.g. stop the Ray cluster started by ``before``


@dataclass
class Options:
    python: str
    quick: bool
    rounds: int
    only: tuple[str, ...]
    backend: str | None
    testfleet_db: str
    sample_interval: float
    timeout_scale: float
    out: Path
    suites: list[str]
    fresh: bool
    dry_run: bool
    argv: list[str] = field(default_factory=list)
    no_crash: bool = False
    with_history: bool = False


def pytest_cmd(opts: Options, *extra: str) -> list[str]:
    # -p no:testfleet: the baselines run as if testfleet were not installed.
    return [opts.python, "-m", "pytest", "-q", "-p", "no:testfleet", *extra]


def testfleet_cmd(opts: Options, workers: int, report_file: Path, db: str, *extra: str) -> list[str]:
    return [
        opts.python,
        "-m",
        "testfleet",
        "run",
        "-w",
        str(workers),
        "--report-json",
        str(report_file),
        "--db",
        db,
        *extra,
        "-q",
    ]


def _remove_db(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal")):
        candidate.unlink(missing_ok=True)


def plan(name: str, opts: Options) -> tuple[list[Variant], suites.Suite]:
    """The variants to run for suite ``name``, and the suite they are compared on."""
    suite = suites.build(name, quick=opts.quick)
    reports = suite.cwd / "reports"
    dbs = suite.cwd / "db"
    reports.mkdir(exist_ok=True)
    dbs.mkdir(exist_ok=True)
    variants: list[Variant] = []

    def report_of(key: str) -> Callable[[int], Path]:
        return lambda r: Path("reports") / f"{_slug(key)}-r{r}.json"  # relative to suite.cwd

    def fresh_db(key: str) -> Callable[[int], str]:
        if opts.testfleet_db == "none":
            return lambda r: "none"
        return lambda r: f"db/{_slug(key)}-r{r}.duckdb"

    def add_testfleet(
        key: str,
        target: suites.Suite,
        workers: int,
        *extra: str,
        group: str | None = None,
        db: Callable[[int], str] | None = None,
        fresh: bool = True,
        notes: str = "",
        cluster: RayCluster | None = None,
    ) -> None:
        db_of = db or fresh_db(key)
        rep = report_of(key)

        def before(r: int) -> None:
            (target.cwd / rep(r)).unlink(missing_ok=True)
            if fresh and db_of(r) != "none":
                _remove_db(target.cwd / db_of(r))
            if cluster is not None:
                cluster.start()

        variants.append(
            Variant(
                key,
                "testfleet",
                target,
                lambda r: [*testfleet_cmd(opts, workers, rep(r), db_of(r), *extra,
                                          *(cluster.args() if cluster else ())), *target.args],
                group or key,
                workers,
                rep,
                before,
                notes,
                (lambda r: cluster.stop()) if cluster is not None else None,
            )
        )

    ray = ("--backend", "ray")
    if name in ("trivial", "networkx"):
        variants.append(
            Variant("pytest", "pytest", suite, lambda r: [*pytest_cmd(opts), *suite.args], "pytest")
        )
        variants.append(
            Variant(
                "xdist -n 2",
                "xdist",
                suite,
                lambda r: [*pytest_cmd(opts, "-n", "2"), *suite.args],
                "xdist",
                2,
            )
        )
        if not (name == "networkx" and opts.with_history):
            add_testfleet(
                "testfleet -w 2",
                suite,
                2,
                notes="fresh --db file each run" if opts.testfleet_db == "fresh" else "",
            )
        if name == "trivial" and opts.testfleet_db != "none":
            # The results store's share of the run, side by side.
            add_testfleet("testfleet -w 2 --db none", suite, 2, db=lambda r: "none", notes="no results store")
        if name == "networkx" and opts.with_history:
            # Issue 3: the same comparison with history present (second run on the same file).
            hdb = _history_db("history")
            add_testfleet("testfleet -w 2 (first, writes history)", suite, 2, group="nx-history", db=hdb,
                          notes="fresh --db file")
            add_testfleet("testfleet -w 2 (history)", suite, 2, group="nx-history", db=hdb, fresh=False,
                          notes="same --db file, written by the run before")
        if opts.backend == "ray":
            # A running local cluster (started before the run and stopped after it, outside
            # the timing), as a team with a cluster would use it; and Ray started by the run.
            add_testfleet("testfleet -w 2 --backend ray (running cluster)", suite, 2, *ray,
                          cluster=RayCluster(opts.python, cpus=2),
                          notes="ray start --head --num-cpus 2 before the run, ray stop after")
            add_testfleet("testfleet -w 2 --backend ray (starts Ray)", suite, 2, *ray,
                          notes="no --ray-address: the run starts and stops a local Ray instance")
        if name == "networkx" and not opts.no_crash:
            crash = suites.networkx(quick=opts.quick, crash=True)
            add_testfleet(
                "testfleet -w 2 + crash",
                crash,
                2,
                notes=f"{suites.CRASH_TESTS} extra tests SIGKILL their own worker",
            )
    elif name == "heavy_tail":
        variants.append(
            Variant(
                "pytest",
                "pytest",
                suite,
                lambda r: [*pytest_cmd(opts, "--durations=0", "--durations-min=0"), *suite.args],
                "pytest",
            )
        )
        for dist in ("load", "worksteal"):
            variants.append(
                Variant(
                    f"xdist -n 4 --dist {dist}",
                    "xdist",
                    suite,
                    lambda r, d=dist: [*pytest_cmd(opts, "-n", "4", "--dist", d), *suite.args],
                    f"xdist-{dist}",
                    4,
                )
            )
        backends = [("", ())] + ([(" --backend ray", ray)] if opts.backend == "ray" else [])
        for label, extra in backends:
            db = _history_db(f"history-{_slug(label)}" if label else "history")
            group = f"testfleet{label}"
            add_testfleet(
                f"testfleet -w 4{label} (no history)",
                suite,
                4,
                *extra,
                group=group,
                db=db,
                notes="fresh --db file",
            )
            add_testfleet(
                f"testfleet -w 4{label} (history)",
                suite,
                4,
                *extra,
                group=group,
                db=db,
                fresh=False,
                notes="same --db file, written by the run before",
            )
    else:
        raise ValueError(f"unknown suite {name!r}")
    return [v for v in variants if v.family in opts.only], suite


class RayCluster:
    """A one-node local Ray cluster for the Ray variants, started before a run and stopped
    after it (``ray start --head`` / ``ray stop``), so no other tool runs beside its daemons."""

    PORT = 6391

    def __init__(self, python: str, cpus: int) -> None:
        self.ray = str(Path(python).with_name("ray"))
        self.cpus = cpus
        self.address: str | None = None

    def start(self) -> None:
        env = {**tool_env(), "RAY_AUTH_MODE": "disabled"}
        subprocess.run([self.ray, "stop", "--force"], capture_output=True, env=env, timeout=120)
        proc = subprocess.run(
            [self.ray, "start", "--head", "--num-cpus", str(self.cpus), "--port", str(self.PORT),
             "--include-dashboard", "false", "--disable-usage-stats"],
            capture_output=True, text=True, env=env, timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        marker = "--address='"
        text = proc.stdout + proc.stderr
        self.address = text.split(marker, 1)[1].split("'", 1)[0] if marker in text else f"127.0.0.1:{self.PORT}"

    def args(self) -> tuple[str, ...]:
        return ("--ray-address", self.address or f"127.0.0.1:{self.PORT}")

    def stop(self) -> None:
        subprocess.run([self.ray, "stop", "--force"], capture_output=True, env=tool_env(), timeout=120)


def _history_db(stem: str) -> Callable[[int], str]:
    """One history file per round, shared by that round's fresh and history runs."""
    return lambda r: f"db/{stem}-r{r}.duckdb"


def tool_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update({"PY_COLORS": "0", "NO_COLOR": "1", "COLUMNS": "120", suites.RUNNER_PID_ENV: str(os.getpid())})
    return env


def run_one(v: Variant, rnd: int, opts: Options, logs: Path, timeout: float) -> dict[str, Any]:
    if v.before:
        v.before(rnd)
    argv = v.argv(rnd)
    load = os.getloadavg()[0]
    m = measure.run_measured(
        argv,
        v.suite.cwd,
        logs / f"{_slug(v.key)}-r{rnd}",
        timeout=timeout,
        env=tool_env(),
        sample_interval=opts.sample_interval,
    )
    stdout = Path(m.stdout_path).read_text(errors="replace")
    record: dict[str, Any] = {
        "variant": v.key,
        "family": v.family,
        "round": rnd,
        "workers": v.workers,
        "notes": v.notes,
        "suite_variant": v.suite.name,
        "loadavg_1m_before": load,
        **m.as_dict(),
        "counts": measure.outcome_counts(measure.parse_summary(stdout)),
        "summary_line": _summary_line(stdout),
    }
    if "--durations=0" in argv:
        record["durations"] = measure.parse_durations(stdout)
    if v.after:
        v.after(rnd)
    if v.report_path:
        data = measure.read_report(v.suite.cwd / v.report_path(rnd))
        record["report_found"] = data is not None
        if data is not None:
            record["report"] = {k: data[k] for k in REPORT_FIELDS if k in data}
            record["report_counts"] = measure.report_counts(data)
            durations = measure.report_durations(data)
            if durations:
                record["durations"] = durations
    return record


def _summary_line(stdout: str) -> str | None:
    lines = [ln for ln in stdout.splitlines() if measure.parse_summary(ln) is not None]
    return lines[-1].strip() if lines else None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def collect_only(suite: suites.Suite, opts: Options, logs: Path, timeout: float) -> dict[str, Any]:
    """Warm-up collection, then a timed one (startup + collection, no tests run)."""
    argv = [*pytest_cmd(opts, "--co"), *suite.args]
    measure.run_measured(
        argv, suite.cwd, logs / "collect-warmup", timeout=timeout, env=tool_env(), sample_interval=0
    )
    m = measure.run_measured(
        argv, suite.cwd, logs / "collect", timeout=timeout, env=tool_env(), sample_interval=0
    )
    text = Path(m.stdout_path).read_text(errors="replace")
    collected = None
    for line in reversed(text.splitlines()):
        words = line.split()
        if len(words) >= 3 and words[1] in ("tests", "test") and words[2] == "collected":
            collected = int(words[0])
            break
    return {"argv": argv, "wall_seconds": m.wall_seconds, "returncode": m.returncode, "collected": collected}


def run_suite(name: str, opts: Options) -> dict[str, Any]:
    variants, suite = plan(name, opts)
    timeout = TIMEOUTS[name] * (0.2 if opts.quick else 1.0) * opts.timeout_scale
    logs = suite.cwd / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    _say(f"== {name}: {suite.cwd} ({len(variants)} variants x {opts.rounds} rounds)")
    collect = collect_only(suite, opts, logs, timeout)
    _say(f"   collect-only: {collect['wall_seconds']:.2f} s, {collect['collected']} tests")
    groups: dict[str, list[Variant]] = {}
    for v in variants:
        groups.setdefault(v.group, []).append(v)
    order = list(groups)
    runs: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for rnd in range(1, opts.rounds + 1):
        checks.append(cpucheck.check(opts.python))
        _say(f"   [round {rnd}/{opts.rounds}] machine check: one CPU loop {checks[-1]['single_seconds']:.2f} s, "
             f"two at once: parallel efficiency {checks[-1]['parallel_efficiency']}")
        shift = (rnd - 1) % max(1, len(order))
        for group in order[shift:] + order[:shift]:
            for v in groups[group]:
                rec = run_one(v, rnd, opts, logs, timeout)
                runs.append(rec)
                _say(
                    f"   [round {rnd}/{opts.rounds}] {v.key:<38} {rec['wall_seconds']:8.2f} s  "
                    f"rc={rec['returncode']}{' TIMEOUT' if rec['timed_out'] else ''}  {rec['counts']}"
                )
    result = {
        "suite": name,
        "cwd": str(suite.cwd),
        "manifest": _slim(suite.manifest),
        "collect_only": collect,
        "variants": [
            {
                "key": v.key,
                "family": v.family,
                "workers": v.workers,
                "notes": v.notes,
                "extra_outcomes": v.suite.extra_outcomes,
                "command": _shell(v.argv(1), v.suite.cwd),
            }
            for v in variants
        ],
        "nominal_durations": suite.manifest.get("durations"),
        "runs": runs,
        "machine_checks": checks,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": opts.quick,
        "rounds": opts.rounds,
    }
    result["analysis"] = report.analyse(result)
    for problem in result["analysis"]["problems"]:
        _say(f"!!! {name}: {problem}")
    if name != "heavy_tail":
        # Per-test durations feed only the heavy-tail lower bound; elsewhere they would make
        # results.json tens of megabytes (20,000 tests x rounds x variants).
        for r in runs:
            r.pop("durations", None)
        result["nominal_durations"] = None
    return result


def _slim(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != "durations"}


def _shell(argv: Sequence[str], cwd: Path) -> str:
    import shlex

    shown = ["python" if a == sys.executable or a.endswith("/python") else a for a in argv]
    return f"cd {_rel(cwd)} && {shlex.join(shown)}"


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(HERE.parent))
    except ValueError:
        return str(path)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def machine_info(python: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_model": None,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": None,
        "os": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                info["os"] = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
    except OSError:
        pass
    probe = (
        "import json, sys; from importlib import metadata as m\n"
        "def v(d):\n    try: return m.version(d)\n    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({'python': sys.version.split()[0], **{d: v(d) for d in "
        "('pytest', 'pytest-xdist', 'testfleet', 'networkx', 'ray', 'duckdb')}}))"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    try:
        info["versions"] = json.loads(out.stdout)
    except ValueError:
        info["versions"] = {"error": out.stderr.strip()[-300:]}
    git = subprocess.run(
        ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    info["git_commit"] = git.stdout.strip() or "(no commit)"
    return info


def parse_args(argv: Sequence[str]) -> Options:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--suite", default="all", help=f"one of {', '.join(SUITE_CHOICES)}, or a comma list")
    p.add_argument("--rounds", type=int, default=3, help="rounds per suite (default 3; medians over them)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny suites, for smoke tests; results go to benchmarks/_work/quick/",
    )
    p.add_argument("--only", default=",".join(FAMILIES), help="comma list of pytest,xdist,testfleet")
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="ray: also run every testfleet variant with --backend ray, next to local",
    )
    p.add_argument(
        "--testfleet-db",
        choices=["fresh", "none"],
        default="fresh",
        help="trivial/networkx: a fresh --db file per run (default) or --db none",
    )
    p.add_argument("--python", default=sys.executable, help="interpreter that runs the tools")
    p.add_argument(
        "--sample-interval",
        type=float,
        default=0.25,
        help="seconds between /proc samples of the process tree (0: off)",
    )
    p.add_argument("--timeout-scale", type=float, default=1.0, help="multiply the per-run timeouts")
    p.add_argument("--out", type=Path, default=None, help="where RESULTS.md and results.json go")
    p.add_argument("--fresh", action="store_true", help="drop earlier results of other suites")
    p.add_argument("--with-history", action="store_true",
                   help="networkx: add a testfleet pair (first run, then a run with its history)")
    p.add_argument("--no-crash", action="store_true", help="skip the networkx crash-replacement variant")
    p.add_argument("--dry-run", action="store_true", help="write the suites, print the commands, run nothing")
    ns = p.parse_args(argv)
    only = tuple(x.strip() for x in ns.only.split(",") if x.strip())
    if bad := [x for x in only if x not in FAMILIES]:
        p.error(f"--only: unknown {', '.join(bad)}; choose from {', '.join(FAMILIES)}")
    names = [x.strip() for x in ns.suite.split(",") if x.strip()]
    if bad := [x for x in names if x not in SUITE_CHOICES]:
        p.error(f"--suite: unknown {', '.join(bad)}; choose from {', '.join(SUITE_CHOICES)}")
    if ns.rounds < 1:
        p.error(f"--rounds must be at least 1, got {ns.rounds}")
    out = ns.out or (suites.WORK / "quick" if ns.quick else HERE)
    opts = Options(
        python=ns.python,
        quick=ns.quick,
        rounds=ns.rounds,
        only=only,
        backend=ns.backend if ns.backend == "ray" else None,
        testfleet_db=ns.testfleet_db,
        sample_interval=ns.sample_interval,
        timeout_scale=ns.timeout_scale,
        out=out,
        suites=list(suites.SUITE_NAMES) if "all" in names else names,
        fresh=ns.fresh,
        dry_run=ns.dry_run,
        argv=list(argv),
        no_crash=ns.no_crash,
        with_history=ns.with_history,
    )
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    if opts.dry_run:
        for name in opts.suites:
            for v in plan(name, opts)[0]:
                _say(f"{name:<10} {v.key:<40} {_shell(v.argv(1), v.suite.cwd)}")
        return 0
    opts.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = opts.out / "results.json", opts.out / "RESULTS.md"
    previous: dict[str, Any] = {}
    if json_path.is_file() and not opts.fresh:
        previous = json.loads(json_path.read_text()).get("suites", {})
    data = {
        "schema": 1,
        "machine": machine_info(opts.python),
        "invocation": "python benchmarks/run.py " + " ".join(opts.argv),
        "suites": previous,
    }
    for name in opts.suites:
        data["suites"][name] = run_suite(name, opts)
        data["suites"][name]["invocation"] = data["invocation"]
        json_path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
        md_path.write_text(report.render(data) + hand_written(md_path))
    _say(f"wrote {_rel(md_path)} and {_rel(json_path)}")
    problems = [p for s in opts.suites for p in data["suites"][s]["analysis"]["problems"]]
    return 1 if problems else 0


def hand_written(md_path: Path) -> str:
    """The sections of RESULTS.md this script does not write (hand-run benchmarks: sharding,
    dashboard, controller-only, analytics...), kept as they are: from the first ``## `` heading
    that is neither the machine, the targets nor a suite of this script, to the end."""
    if not md_path.is_file():
        return ""
    ours = {"Machine", "Targets", *suites.SUITE_NAMES}
    lines = md_path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("## ") and line[3:].strip() not in ours:
            return "\n" + "".join(lines[i:])
    return ""


if __name__ == "__main__":
    sys.exit(main())
