"""Every test executed exactly once, at scale: the trivial suite (40 x 500) with an execution
log, run by testfleet at several worker counts, checked against pytest's summary, the JUnit
XML and testfleet's report (issue 13's 20,000-test target; the acceptance test runs 2,000).

    python benchmarks/exactly_once.py [--workers 8,16] [--repeat 1]

The suite is written under ``benchmarks/_work/exactly_once/`` (a conftest whose autouse
fixture appends each test's node id to ``$EXEC_LOG``). Exit code 1 if any run disagrees.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (the benchmark's scrubbed tool environment)
import suites  # noqa: E402

CONFTEST = """
import os
import pytest

@pytest.fixture(autouse=True)
def _execution_log(request):
    fd = os.open(os.environ["EXEC_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (request.node.nodeid + "\\n").encode())
    os.close(fd)
    yield
"""


def check(workers: int, suite_dir: Path, total: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="testfleet-once-") as tmp:
        log, junit, report = Path(tmp) / "exec.log", Path(tmp) / "junit.xml", Path(tmp) / "r.json"
        env = {**run.tool_env(), "EXEC_LOG": str(log)}
        argv = [sys.executable, "-m", "testfleet", "run", "-w", str(workers), "--db", "none",
                f"--junitxml={junit}", "--report-json", str(report), "-q", "-p", "no:cacheprovider", "."]
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=suite_dir, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - t0
        ran = Counter(log.read_text().splitlines())
        twice = sorted(n for n, c in ran.items() if c > 1)
        passed = re.findall(r"(\d+) passed", proc.stdout)
        cases = [(c.get("classname"), c.get("name")) for c in ET.parse(junit).getroot().iter("testcase")]
        ok = (proc.returncode == 0 and len(ran) == total and not twice and passed and int(passed[-1]) == total
              and len(cases) == total and len(set(cases)) == total)
        sys.stdout.write(f"-w {workers}: {wall:.1f}s exit {proc.returncode}; executed {sum(ran.values())} "
                         f"({len(ran)} distinct, {len(twice)} twice); pytest summary "
                         f"{passed[-1] if passed else '?'} passed; junit {len(cases)} testcases "
                         f"({len(set(cases))} distinct): {'OK' if ok else 'MISMATCH'}\n")
        return bool(ok)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", default="8,16")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="the 4 x 25 suite")
    ns = p.parse_args(argv)
    base = suites.trivial(quick=ns.quick, root=suites.WORK / "exactly_once")
    (base.cwd / "conftest.py").write_text(CONFTEST)
    total = int(base.manifest["tests"])
    ok = True
    for _ in range(ns.repeat):
        for w in (int(x) for x in ns.workers.split(",")):
            ok = check(w, base.cwd, total) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
