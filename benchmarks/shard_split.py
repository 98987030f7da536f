"""testfleet ``--shard I/K`` against pytest-split's ``--splits K`` on one skewed suite.

Both tools get the same durations file (pytest-split's ``.test_durations`` format, which
``--durations-file`` reads too) holding each test's true sleep time, and split the same suite
into K shards. Two figures per tool:

- **planned**: the longest shard's total test time over the mean shard (1.00 is perfect),
  from the tests each shard selects (collect-only runs, no sleeping);
- **measured** (``--run``): each shard run for real, one after another (as K CI jobs would run
  side by side); the longest shard's summed test durations over the mean, and its process wall
  time (startup included).

pytest-split runs from its own venv (``--split-python``, default /work/venv-ci/bin/python: a
plain venv with pytest and pytest-split only); testfleet from this interpreter.

    python benchmarks/shard_split.py --tests 400 --seconds 8 --shards 4 --run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def write_suite(root: Path, n: int, total: float, seed: int) -> dict[str, float]:
    """``n`` tests over 20 modules, durations Pareto-distributed (alpha 1.16: 80/20), scaled to
    ``total`` seconds, no test above a fifth of a shard's share."""
    rng = random.Random(seed)
    raw = [rng.paretovariate(1.16) for _ in range(n)]
    scale = total / sum(raw)
    secs = [round(r * scale, 4) for r in raw]
    durations: dict[str, float] = {}
    per_module = (n + 19) // 20
    for m in range(20):
        chunk = secs[m * per_module : (m + 1) * per_module]
        if not chunk:
            continue
        (root / f"test_m{m:02d}.py").write_text(
            f"import time, pytest\nS = {chunk!r}\n\n@pytest.mark.parametrize('i', range(len(S)))\n"
            "def test_t(i):\n    time.sleep(S[i])\n"
        )
        for i, s in enumerate(chunk):
            durations[f"test_m{m:02d}.py::test_t[{i}]"] = s
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / ".test_durations").write_text(json.dumps(durations, indent=1))
    return durations


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_ADDOPTS", "TESTFLEET_"))}
    e.update({"PY_COLORS": "0", "NO_COLOR": "1"})
    return e


def argv(tool: str, i: int, k: int, opts: argparse.Namespace, collect: bool, xml: Path | None) -> list[str]:
    if tool.startswith("pytest-split"):
        algo = tool.split(":", 1)[1]
        cmd = [
            opts.split_python,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--splits",
            str(k),
            "--group",
            str(i),
            "--durations-path",
            ".test_durations",
            "--splitting-algorithm",
            algo,
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "testfleet",
            "run",
            "-w",
            "1",
            "--db",
            "none",
            "--shard",
            f"{i}/{k}",
            "--durations-file",
            ".test_durations",
            "-p",
            "no:cacheprovider",
        ]
    cmd += ["--co", "-q"] if collect else ["-q"]
    if xml is not None:
        cmd += ["--junitxml", str(xml)]
    return cmd


def selected(out: str) -> list[str]:
    return [ln.strip() for ln in out.splitlines() if "::" in ln and not ln.startswith(("=", " "))]


def measure(tool: str, root: Path, durations: dict[str, float], opts: argparse.Namespace) -> dict[str, Any]:
    k = opts.shards
    shards = []
    for i in range(1, k + 1):
        proc = subprocess.run(
            argv(tool, i, k, opts, True, None),
            cwd=root,
            capture_output=True,
            text=True,
            env=env(),
            timeout=300,
        )
        ids = selected(proc.stdout)
        shards.append(ids)
    planned = [sum(durations[n] for n in ids) for ids in shards]
    flat = [n for ids in shards for n in ids]
    result: dict[str, Any] = {
        "tool": tool,
        "tests_per_shard": [len(s) for s in shards],
        "planned_seconds": planned,
        "planned_ratio": max(planned) / (sum(planned) / k),
        "disjoint": len(flat) == len(set(flat)),
        "complete": set(flat) == set(durations),
    }
    if opts.run:
        sums, walls = [], []
        for i in range(1, k + 1):
            xml = root / f"junit-{i}.xml"
            t0 = time.perf_counter()
            subprocess.run(
                argv(tool, i, k, opts, False, xml), cwd=root, capture_output=True, env=env(), timeout=600
            )
            walls.append(time.perf_counter() - t0)
            sums.append(sum(float(c.get("time", "0")) for c in ET.parse(xml).getroot().iter("testcase")))
        result.update(
            measured_seconds=sums,
            measured_ratio=max(sums) / (sum(sums) / k),
            wall_seconds=walls,
            longest_wall=max(walls),
        )
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tests", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=8.0, help="total sleep of the suite")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--run", action="store_true", help="also run every shard for real")
    ap.add_argument("--split-python", default="/work/venv-ci/bin/python")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="shard-bench-") as tmp:
        root = Path(tmp)
        durations = write_suite(root, opts.tests, opts.seconds, opts.seed)
        results = [
            measure(tool, root, durations, opts)
            for tool in ("testfleet", "pytest-split:duration_based_chunks", "pytest-split:least_duration")
        ]
    print(
        f"suite: {opts.tests} tests, {opts.seconds:.1f} s in all, longest test {max(durations.values()):.3f} s, "
        f"{opts.shards} shards (mean {opts.seconds / opts.shards:.2f} s), load {os.getloadavg()[0]:.2f}"
    )
    for r in results:
        line = (
            f"{r['tool']:38s} planned max/mean {r['planned_ratio']:.3f}  tests {r['tests_per_shard']}  "
            f"disjoint {r['disjoint']} complete {r['complete']}"
        )
        if "measured_ratio" in r:
            line += (
                f"  measured max/mean {r['measured_ratio']:.3f}  longest shard wall {r['longest_wall']:.2f} s"
            )
        print(line)
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
