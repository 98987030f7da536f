"""What the dashboard costs: ``python benchmarks/dashboard.py {history,overhead} [--rounds N]``.

history
    Builds a store of 1,000,000 result rows (100 runs x 10,000 tests, with failures, flaky
    tests, retried attempts and a duration step; ``tests/integration/dashboard_helpers.build_store``),
    serves it with ``testfleet dashboard`` and times each history page (the overview includes
    the analysis: flaky verdicts, regressions, forecast): the server's answer over HTTP
    (first load, then the median of the rounds) and, when Playwright and chromium are there,
    the page in the browser up to its ``load`` event.
overhead
    The trivial suite (20,000 tests, ``benchmarks/suites.py trivial``) with ``testfleet run -w 2
    --db none``, with and without ``--dashboard``, paired round by round in alternating order.
    With the dashboard, a WebSocket client (what a live page does) is connected for the whole
    run and counts the messages it gets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work" / "dashboard"
sys.path.insert(0, str(REPO / "tests" / "integration"))


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _url_of(proc: subprocess.Popen[str], lines: list[str], timeout: float = 60.0) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("exited before printing a URL:\n" + "".join(lines))
        lines.append(line)
        m = re.search(r"(http://\S+)", line)
        if m:
            return m.group(1)
    raise RuntimeError("no URL within the timeout")


def history(rounds: int) -> dict[str, Any]:
    import duckdb
    import httpx
    from dashboard_helpers import build_store

    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "history-1m.duckdb"
    runs, tests = 100, 10_000
    if not db.exists():
        started = time.perf_counter()
        build_store(db, runs, tests)
        print(f"built {db} in {time.perf_counter() - started:.1f} s")
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT count(*) FROM results").fetchone()[0]  # type: ignore[index]
        latest = conn.execute("SELECT id FROM runs ORDER BY start DESC LIMIT 1").fetchone()[0]  # type: ignore[index]
    pages = {
        "overview": "/",
        "grid": "/grid",
        "run": f"/runs/{latest}",
        "run filtered": f"/runs/{latest}?q=case_0001&outcome=failed",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "dashboard", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    lines: list[str] = []
    out: dict[str, Any] = {
        "rows": rows,
        "runs": runs,
        "tests_per_run": tests,
        "rounds": rounds,
        "http": {},
        "browser": {},
    }
    try:
        base = _url_of(proc, lines).rstrip("/")
        with httpx.Client(timeout=60) as client:
            for name, path in pages.items():
                times = []
                for _ in range(rounds + 1):
                    t0 = time.perf_counter()
                    r = client.get(base + path)
                    times.append(time.perf_counter() - t0)
                    assert r.status_code == 200, (path, r.status_code, r.text[:200])
                out["http"][name] = {
                    "first": times[0],
                    "median": statistics.median(times[1:]),
                    "max": max(times[1:]),
                    "bytes": len(r.content),
                }
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None  # type: ignore[assignment]
        if sync_playwright is not None and Path("/usr/bin/chromium").exists():
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page()
                for name in ("overview", "grid"):
                    times = []
                    for _ in range(rounds):
                        t0 = time.perf_counter()
                        page.goto(base + pages[name], wait_until="load")
                        times.append(time.perf_counter() - t0)
                    out["browser"][name] = {"median": statistics.median(times), "max": max(times)}
                browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def _run_trivial(suite: Path, dashboard: bool) -> dict[str, Any]:
    report = WORK / f"report-{os.getpid()}.json"
    report.unlink(missing_ok=True)
    args = [
        sys.executable,
        "-m",
        "testfleet",
        "run",
        "-w",
        "2",
        "--db",
        "none",
        "-q",
        "-p",
        "no:cacheprovider",
        "--report-json",
        str(report),
    ]
    if dashboard:
        args += ["--dashboard"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=suite, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env()
    )
    messages = [0]
    lines: list[str] = []
    client: threading.Thread | None = None
    if dashboard:
        url = _url_of(proc, lines)

        def watch() -> None:
            from websockets.sync.client import connect

            try:
                with connect(url.replace("http://", "ws://").rstrip("/") + "/ws", open_timeout=30) as ws:
                    for _ in ws:
                        messages[0] += 1
            except Exception:  # noqa: BLE001 - the server closes when the run ends
                pass

        client = threading.Thread(target=watch, daemon=True)
        client.start()
    rest, _ = proc.communicate(timeout=600)
    wall = time.perf_counter() - t0
    if client is not None:
        client.join(10)
    text = "".join(lines) + rest
    summary = [ln for ln in text.splitlines() if " passed" in ln]
    data = json.loads(report.read_text())
    return {
        "wall": wall,
        "code": proc.returncode,
        "summary": summary[-1] if summary else text[-300:],
        "messages": messages[0],
        "run_seconds": data["wall_seconds"],
        "controller_cpu": data["controller_cpu_seconds"],
    }


def overhead(rounds: int) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(HERE / "suites.py"), "trivial"],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    suite = HERE / "_work" / "trivial"
    pairs = []
    for i in range(rounds):
        order = [False, True] if i % 2 == 0 else [True, False]
        got = {flag: _run_trivial(suite, flag) for flag in order}
        for r in got.values():
            assert r["code"] == 0, r
        pairs.append({"plain": got[False], "dashboard": got[True]})
        print(
            f"round {i + 1}: plain {got[False]['wall']:.2f} s (controller CPU {got[False]['controller_cpu']:.2f} s), "
            f"--dashboard {got[True]['wall']:.2f} s (controller CPU {got[True]['controller_cpu']:.2f} s, "
            f"{got[True]['messages']} WebSocket messages)",
            flush=True,
        )
    out: dict[str, Any] = {"rounds": rounds, "pairs": pairs}
    for key in ("wall", "run_seconds", "controller_cpu"):
        ratios = [p["dashboard"][key] / p["plain"][key] for p in pairs]
        out[key] = {
            "plain_median": statistics.median(p["plain"][key] for p in pairs),
            "dashboard_median": statistics.median(p["dashboard"][key] for p in pairs),
            "median_ratio": statistics.median(ratios),
            "ratios": ratios,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["history", "overhead"])
    parser.add_argument("--rounds", type=int, default=5)
    ns = parser.parse_args()
    result = history(ns.rounds) if ns.what == "history" else overhead(ns.rounds)
    result["loadavg_1m_before"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
