"""Fresh-process time of ``testfleet forecast`` on a 1,000,000-row store, revisions paired.

``python benchmarks/forecast_process.py --rounds 5 SRC [SRC ...]`` builds the store of
``analysis_store.py`` (500 runs x up to 2,100 tests, about 1,017,000 result rows; or reuses
``--db``), then each round runs ``python -m testfleet forecast --metric total-duration
--horizon 5 --format json`` once per ``SRC`` directory (put first on ``PYTHONPATH``; the order
rotates from round to round) and prints each one's median and max wall time and median CPU time
(user + system of the child). A revision's ``src/`` is made with e.g.
``git archive ee450c8 src | tar -x -C /tmp/before``. Extra arguments after ``--`` are passed to
the command (e.g. ``-- --method linear``).

Not a run benchmark (nothing runs pytest), so there is no pytest / xdist pairing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from analysis_store import build  # noqa: E402


def one(src: str, argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh process, and the method it reports."""

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    env = {**os.environ, "PYTHONPATH": src}
    cpu0, t = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "testfleet", *argv], capture_output=True, text=True, env=env)
    wall, cpu = time.perf_counter() - t, children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(
            f"PYTHONPATH={src} testfleet {' '.join(argv)} exited {done.returncode}: {done.stderr}"
        )
    return wall, cpu, str(json.loads(done.stdout)["method"])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in args:
        extra = args[args.index("--") + 1 :]
        args = args[: args.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("srcs", nargs="+", help="src directories to compare (first on PYTHONPATH)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="reuse or keep this file")
    ns = parser.parse_args(args)
    with tempfile.TemporaryDirectory() as tmp:
        path = ns.db or Path(tmp) / "big.duckdb"
        if not path.exists():
            t = time.perf_counter()
            rows = build(path, 500, 2100)
            print(f"built {path}: {rows:,} result rows in {time.perf_counter() - t:.1f} s")
        command = [
            "forecast",
            "--db",
            str(path),
            "--metric",
            "total-duration",
            "--horizon",
            "5",
            "--format",
            "json",
            *extra,
        ]
        print(f"testfleet {' '.join(command)}; load average before: {os.getloadavg()[0]:.2f}")
        walls: dict[str, list[float]] = {s: [] for s in ns.srcs}
        cpus: dict[str, list[float]] = {s: [] for s in ns.srcs}
        methods: dict[str, str] = {}
        for r in range(ns.rounds):
            k = r % len(ns.srcs)
            for src in ns.srcs[k:] + ns.srcs[:k]:
                wall, cpu, methods[src] = one(src, command)
                walls[src].append(wall)
                cpus[src].append(cpu)
            print(f"round {r + 1}: " + ", ".join(f"{s} {walls[s][-1]:.3f} s" for s in ns.srcs))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(f"{'src':<32} {'method':<7} {'median wall s':>13} {'max wall s':>10} {'median CPU s':>12}")
        for src in ns.srcs:
            print(
                f"{src:<32} {methods[src]:<7} {statistics.median(walls[src]):13.3f} "
                f"{max(walls[src]):10.3f} {statistics.median(cpus[src]):12.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
