"""Parallel collection (``--collectors``): collection time and wall time, paired round by round.

    python benchmarks/collectors.py [--suite trivial] [--rounds 5]

Each round runs, in an order that alternates from round to round (forward, then reversed),
``testfleet run -w 1``, ``-w 2`` and ``-w 2 --collectors 2`` on the suite, each a fresh
process with ``--db none --report-json``, and prints each one's ``collect_seconds`` (from
the report: until the last collector had collected) and wall time, then the medians and the
ratio of collection at ``-w 2 --collectors 2`` to collection at ``-w 1`` (target: <= 0.6).
The load average before each round is printed too: on a shared machine, read the ratios.
Runs this checkout's testfleet (``src/`` first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the benchmark's scrubbed tool environment)
import suites  # noqa: E402

VARIANTS = {
    "-w 1": ["-w", "1"],
    "-w 2": ["-w", "2"],
    "-w 2 --collectors 2": ["-w", "2", "--collectors", "2"],
}


def one(args: list[str], suite: suites.Suite, report: Path) -> tuple[float, float, int]:
    """(collect_seconds, wall seconds, exit code) of one run."""
    env = run.tool_env()
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    argv = [sys.executable, "-m", "testfleet", "run", *args, "--db", "none", "--report-json", str(report)]
    argv += ["-q", "-p", "no:cacheprovider", *suite.args]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=suite.cwd, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    collect = float(json.loads(report.read_text())["collect_seconds"]) if report.exists() else float("nan")
    return collect, wall, proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--suite", default="trivial", choices=suites.SUITE_NAMES)
    p.add_argument("--rounds", type=int, default=5)
    ns = p.parse_args(argv)
    suite = suites.build(ns.suite)
    collect: dict[str, list[float]] = {k: [] for k in VARIANTS}
    wall: dict[str, list[float]] = {k: [] for k in VARIANTS}
    for rnd in range(ns.rounds):
        order = list(VARIANTS) if rnd % 2 == 0 else list(reversed(VARIANTS))
        load = os.getloadavg()
        cells = []
        for name in order:
            with tempfile.TemporaryDirectory(prefix="testfleet-collectors-") as tmp:
                c, w, code = one(VARIANTS[name], suite, Path(tmp) / "r.json")
            if code != 0:
                sys.stdout.write(f"round {rnd}: {name} exited {code}\n")
            collect[name].append(c)
            wall[name].append(w)
            cells.append(f"{name}: collect {c:.2f}s wall {w:.2f}s")
        sys.stdout.write(f"round {rnd} (load {load[0]:.2f} {load[1]:.2f}): " + "; ".join(cells) + "\n")
    sys.stdout.write("medians:\n")
    for name in VARIANTS:
        sys.stdout.write(
            f"  {name:22} collect {statistics.median(collect[name]):.3f}s  wall {statistics.median(wall[name]):.3f}s\n"
        )
    ratios = [c2 / c1 for c1, c2 in zip(collect["-w 1"], collect["-w 2 --collectors 2"], strict=True)]
    wall_ratios = [b / a for a, b in zip(wall["-w 2"], wall["-w 2 --collectors 2"], strict=True)]
    verdict = "OK" if statistics.median(ratios) <= 0.6 else "FAIL"
    sys.stdout.write(
        f"collection at -w 2 --collectors 2 / at -w 1: median {statistics.median(ratios):.2f}x "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; target <= 0.6: {verdict})\n"
        f"wall at -w 2 --collectors 2 / at -w 2: median {statistics.median(wall_ratios):.2f}x\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
