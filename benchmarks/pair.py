"""Paired rounds of testfleet against ``pytest -n N`` (pytest-xdist) on one generated suite.

    python benchmarks/pair.py [--suite fast_then_slow] [--workers 4] [--rounds 3]

Each round runs both tools once, in alternating order, each with a fresh process and no
history (``--db none``). Reported: each round's wall times and testfleet/xdist ratio, the
median ratio, and from testfleet's ``--report-json`` how many of the suite's slow tests
(``test_b_slow.py``) each worker ran. Built for issue 13's fast-then-slow target
(<= 0.9x ``pytest -n 4``, every worker runs slow tests); on a shared machine, pair and
repeat, and read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (the benchmark's scrubbed tool environment)
import suites  # noqa: E402


def timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=run.tool_env(), capture_output=True, text=True, timeout=600)
    return time.perf_counter() - t0, proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--suite", default="fast_then_slow", choices=suites.SUITE_NAMES)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    ns = p.parse_args(argv)
    suite = suites.build(ns.suite)
    py = sys.executable
    ratios = []
    for rnd in range(ns.rounds):
        with tempfile.TemporaryDirectory(prefix="testfleet-pair-") as tmp:
            report = Path(tmp) / "r.json"
            tools = {
                "xdist": [py, "-m", "pytest", "-n", str(ns.workers), "-q", "-p", "no:cacheprovider", *suite.args],
                "testfleet": [py, "-m", "testfleet", "run", "-w", str(ns.workers), "--db", "none",
                              "--report-json", str(report), "-q", "-p", "no:cacheprovider", *suite.args],
            }
            order = list(tools) if rnd % 2 == 0 else list(reversed(tools))
            wall: dict[str, float] = {}
            for name in order:
                wall[name], code = timed(tools[name], suite.cwd)
                if code != 0:
                    sys.stdout.write(f"round {rnd}: {name} exited {code}\n")
            data = json.loads(report.read_text())
            slow = Counter(t["worker"] for t in data["tests"] if "test_b_slow" in t["nodeid"])
        ratio = wall["testfleet"] / wall["xdist"]
        ratios.append(ratio)
        sys.stdout.write(f"round {rnd}: testfleet {wall['testfleet']:.2f}s  xdist {wall['xdist']:.2f}s  "
                         f"ratio {ratio:.2f}  slow tests per worker {dict(sorted(slow.items()))}\n")
    sys.stdout.write(f"median ratio testfleet/xdist over {ns.rounds} rounds: {statistics.median(ratios):.2f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
