"""The real-GPU check of issue 20: run a small PyTorch suite under plain pytest and under
testfleet (fork and spawn, with and without the GPU marker) and print one table.

Needs a machine with an NVIDIA GPU and PyTorch built with CUDA. Usage::

    python benchmarks/gpu_check.py [--workers 4] [--keep DIR]

The suite (the issue's): one test marked ``fleet(requires={"gpu": 1})``, six unmarked tests
that use CUDA when ``torch.cuda.is_available()`` (and skip, naming CUDA_VISIBLE_DEVICES, when
not), six CPU-only tests; plus a separate module that touches CUDA at import. Expected:
every row of the main suite 13 passed; the import-time CUDA module passes under plain pytest
and ``--start spawn`` and stops a fork run with exit code 4 and one line naming --start spawn.
Record the table in docs/hardware.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

MARKED = '''
import os, pytest, torch
@pytest.mark.fleet(requires={"gpu": 1})
def test_marked_gpu():
    assert torch.cuda.is_available(), f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}"
    x = torch.ones(1024, device="cuda")
    assert x.sum().item() == 1024
'''

UNMARKED_CUDA = '''
import os, pytest, torch
@pytest.mark.parametrize("n", range(6))
def test_uses_cuda_when_available(n):
    if not torch.cuda.is_available():
        pytest.skip(f"no cuda (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})")
    a = torch.randn(256, 256, device="cuda")
    assert torch.allclose(a @ torch.eye(256, device="cuda"), a)
'''

CPU_ONLY = '''
import pytest, torch
@pytest.mark.parametrize("n", range(6))
def test_cpu_only(n):
    a = torch.randn(64, 64)
    assert torch.allclose(a @ torch.eye(64), a)
'''

CUDA_AT_IMPORT = '''
import torch
_W = torch.zeros(4, device="cuda")
def test_uses_the_module_tensor():
    assert _W.sum().item() == 0
'''


def write_suites(root: Path) -> dict[str, Path]:
    suites = {}
    for name, files in {
        "marked": {"test_marked.py": MARKED, "test_unmarked_cuda.py": UNMARKED_CUDA, "test_cpu.py": CPU_ONLY},
        "unmarked": {"test_marked.py": MARKED.replace('@pytest.mark.fleet(requires={"gpu": 1})\n', ""),
                     "test_unmarked_cuda.py": UNMARKED_CUDA, "test_cpu.py": CPU_ONLY},
        "cuda-at-import": {"test_import_cuda.py": CUDA_AT_IMPORT},
    }.items():
        d = root / name
        d.mkdir()
        (d / "pytest.ini").write_text("[pytest]\n")
        for fname, text in files.items():
            (d / fname).write_text(text)
        suites[name] = d
    return suites


def run_plain(suite: Path) -> dict[str, object]:
    xml = suite / "junit.xml"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"],
                          cwd=suite, capture_output=True, text=True, timeout=900)
    counts: dict[str, int] = {}
    if xml.exists():
        for case in ET.parse(xml).getroot().iter("testcase"):
            kind = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
            kind = {"failure": "failed"}.get(kind, kind)
            counts[kind] = counts.get(kind, 0) + 1
        xml.unlink()
    return {"code": proc.returncode, "counts": counts, "seconds": time.perf_counter() - t0,
            "note": _note(proc.stdout + proc.stderr)}


def run_fleet(suite: Path, workers: int, start: str) -> dict[str, object]:
    report = suite / "report.json"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "testfleet", "run", "-w", str(workers), "--start", start,
                           "--db", "none", "--report-json", str(report), "-p", "no:cacheprovider"],
                          cwd=suite, capture_output=True, text=True, timeout=900)
    counts: dict[str, int] = {}
    skips: list[str] = []
    if report.exists():
        data = json.loads(report.read_text())
        counts = dict(data.get("counts", {}))
        skips = [t.get("message") or "" for t in data.get("tests", []) if t.get("outcome") == "skipped"]
        report.unlink()
    note = skips[0] if skips else _note(proc.stdout + proc.stderr)
    return {"code": proc.returncode, "counts": counts, "seconds": time.perf_counter() - t0, "note": note}


def _note(text: str) -> str:
    for line in text.splitlines():
        if "ERROR:" in line or "error:" in line or "CUDA error" in line:
            return line.strip()[:160]
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", metavar="DIR", help="write the suites here and keep them")
    ns = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("gpu_check: needs PyTorch (pip install torch) on a machine with an NVIDIA GPU", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("gpu_check: torch.cuda.is_available() is false: run it on a machine with a GPU", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, {torch.cuda.device_count()} GPU(s): "
          f"{', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))}; "
          f"{os.cpu_count()} CPUs; CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}")
    root = Path(ns.keep) if ns.keep else Path(tempfile.mkdtemp(prefix="gpu-check-"))
    root.mkdir(parents=True, exist_ok=True)
    suites = write_suites(root)
    rows = []
    for name, suite in suites.items():
        rows.append((name, "pytest", run_plain(suite)))
        for start in ("fork", "spawn"):
            rows.append((name, f"testfleet -w {ns.workers} {start}", run_fleet(suite, ns.workers, start)))
    print(f"\n{'suite':<15} {'runner':<22} {'exit':>4}  {'outcomes':<34} {'seconds':>7}  note")
    for name, runner, r in rows:
        counts = r["counts"]
        assert isinstance(counts, dict)
        text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "-"
        print(f"{name:<15} {runner:<22} {r['code']:>4}  {text:<34} {r['seconds']:>7.1f}  {r['note']}")
    if not ns.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
