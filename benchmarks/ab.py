"""Paired A/B of testfleet revisions on one suite: is a change faster, on a noisy machine?

    python benchmarks/ab.py [--rounds N] [--suite trivial] [--workers 2] [--db none|fresh] REV [REV ...]

Each REV is a git revision, or ``.`` for the working tree. Its ``src/`` is exported to a
temporary directory and put first on ``PYTHONPATH``, so every revision runs with the same
interpreter, pytest and plugins. Each round runs every revision once (the order alternates
between rounds) on the suite ``run.py`` generated under ``benchmarks/_work/``, with
``--db none`` (``--db fresh``: a new results store file per run, as ``run.py`` runs testfleet)
and the environment ``run.py`` gives the tools. The machine's speed drifts by 20% within
minutes here, so a revision is judged by the median of its per-round ratio to the first
revision, not by its median wall time.
Also reported: the controller's and the workers' CPU seconds (from ``--report-json``).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import run  # the benchmark's own tool environment
import suites

ROOT = suites.HERE.parent


def export(rev: str, into: Path) -> Path:
    """``src/`` of ``rev`` (``.``: the working tree) under ``into``; returns the src dir."""
    into.mkdir(parents=True)
    if rev == ".":
        shutil.copytree(ROOT / "src", into / "src", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(["git", "archive", "--format=tar", rev, "src"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
    return into / "src"


def run_once(src: Path, suite_dir: Path, workers: int, report: Path, db: str = "none") -> dict[str, Any]:
    """One run; ``db``: ``none``, or a path (removed first: a fresh store, as run.py's default)."""
    env = run.tool_env()  # as benchmarks/run.py runs the tools
    env["PYTHONPATH"] = str(src)
    if db != "none":
        for path in (Path(db), Path(f"{db}.wal")):
            path.unlink(missing_ok=True)
        shutil.rmtree(f"{db}.journal", ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "testfleet", "run", "-w", str(workers), "--db", db,
                           "--report-json", str(report), "-q", "."], cwd=suite_dir, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    wall = time.perf_counter() - t0
    data = json.loads(report.read_text())
    return {"wall": wall, "rc": proc.returncode, "counts": data["counts"],
            "controller_cpu": data.get("controller_cpu_seconds"),
            "workers_cpu": (sum(w["cpu_seconds"] for w in data["workers"])
                            if data.get("workers") and all(w.get("cpu_seconds") is not None for w in data["workers"])
                            else None)}  # revisions before 2026-12-03 do not report CPU


def _median(values: Iterable[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.2f} s" if known else "n/a"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("revs", nargs="+", help="git revisions, or . for the working tree")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--suite", default="trivial", help="a suite run.py generated under benchmarks/_work/")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--db", choices=["none", "fresh"], default="none",
                   help="--db none (default), or a fresh results store file per run (run.py's default)")
    args = p.parse_args(argv)
    suite_dir = suites.WORK / args.suite
    if not suite_dir.is_dir():
        p.error(f"{suite_dir} does not exist: run `python benchmarks/run.py --suite {args.suite} --dry-run` first")
    with tempfile.TemporaryDirectory(prefix="testfleet-ab-") as tmp:
        srcs = {rev: export(rev, Path(tmp) / f"rev{i}") for i, rev in enumerate(args.revs)}
        runs: dict[str, list[dict[str, Any]]] = {rev: [] for rev in args.revs}
        report = Path(tmp) / "report.json"
        for rnd in range(args.rounds):
            order = args.revs if rnd % 2 == 0 else args.revs[::-1]
            for rev in order:
                db = "none" if args.db == "none" else str(Path(tmp) / "store.duckdb")
                runs[rev].append(run_once(srcs[rev], suite_dir, args.workers, report, db))
            print(f"round {rnd + 1}: " + "  ".join(f"[{r}] {runs[r][-1]['wall']:.2f} s" for r in args.revs),
                  flush=True)
    base = runs[args.revs[0]]
    outcomes = {json.dumps([r["rc"], r["counts"]], sort_keys=True) for rs in runs.values() for r in rs}
    for rev, rs in runs.items():
        ratio = statistics.median(r["wall"] / b["wall"] for r, b in zip(rs, base, strict=True))
        print(f"[{rev}] wall median {statistics.median(r['wall'] for r in rs):.2f} s, "
              f"paired ratio to {args.revs[0]}: {ratio:.3f}; "
              f"controller CPU median {_median(r['controller_cpu'] for r in rs)}, "
              f"workers CPU median {_median(r['workers_cpu'] for r in rs)}")
    if len(outcomes) != 1:
        print(f"!!! exit codes or outcome counts differ between runs: {sorted(outcomes)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
