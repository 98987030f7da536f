"""The live dashboard of a real run (real workers), in a real browser (chromium + Playwright).

The suite's last tests wait for a gate file, so the page is seen in the middle of the run
(six tests done, the gated ones running) and again after the test opens the gate.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import Process, browser_page, need_browser

SUITE = """
import os, time, pytest
GATE = os.path.join(os.path.dirname(__file__), "gate")

@pytest.mark.parametrize("n", range(5))
def test_quick(n):
    pass

@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>"])
def test_hostile(name):
    print("<script>alert(3)</script>")
    assert False, "<script>alert(2)</script>"

@pytest.mark.parametrize("n", range(4))
def test_gated(n):
    deadline = time.monotonic() + 60
    while not os.path.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(GATE), "the test never opened the gate"
"""
HOSTILE = "test_live.py::test_hostile[<img src=x onerror=alert(1)>]"
TIMEOUT_MS = 30_000


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_live.py").write_text(SUITE)
    return tmp_path


def start_run(root: Path, *extra: str) -> Process:
    return Process(["run", "-w", "2", "--db", "none", "--order", "collection", "--dashboard", *extra], root)


def watch_run(root: Path, init_script: str | None = None, refuse_websocket: bool = False) -> dict[str, Any]:
    """Open the live page of a run, check it mid-run and at the end; what was seen."""
    from playwright.sync_api import expect

    run = start_run(root)
    try:
        address = run.url()
        with browser_page(init_script) as (page, dialogs):
            if refuse_websocket:  # every WebSocket to /ws is closed at once, as a broken proxy would
                page.route_web_socket("**/ws", lambda ws: ws.close(code=1011))
            page.goto(address)
            counts = page.locator("#counts")
            expect(counts).to_contain_text("5 passed", timeout=TIMEOUT_MS)
            expect(counts).to_contain_text("1 failed", timeout=TIMEOUT_MS)
            busy = page.locator("code.lane-test", has_text="test_live.py::test_gated[")
            expect(busy.first).to_be_visible(timeout=TIMEOUT_MS)
            mid = {
                "counts": counts.text_content(),
                "conn": page.locator("#conn").text_content(),
                "progress": page.locator("#progress").text_content(),
            }
            # The running test's elapsed time moves on while it runs.
            clock = page.locator(".lane:has(code.lane-test) .lane-time").first
            before = clock.text_content()
            expect(clock).not_to_have_text(before or "", timeout=TIMEOUT_MS)
            (root / "gate").write_text("open")
            expect(counts).to_contain_text("9 passed", timeout=TIMEOUT_MS)
            expect(page.locator("#end")).to_contain_text("exit code 1", timeout=TIMEOUT_MS)
            failure = page.locator("details.failure").first
            seen = {
                "mid": mid,
                "end": page.locator("#end").text_content(),
                "failure_id": failure.locator("code.nodeid").text_content(),
                "failure_summary": failure.locator("summary").text_content(),
                "failure_text": failure.locator("pre").text_content(),
                "images": page.locator("#failures img").count(),
                "scripts": page.locator("body script").count(),
            }
            seen["dialogs"] = list(dialogs)
        code, out = run.finish()
        seen["code"], seen["out"] = code, out
        return seen
    finally:
        run.stop()


@pytest.mark.browser
def test_counts_rise_over_the_websocket_and_hostile_names_stay_text(suite: Path) -> None:
    need_browser()
    seen = watch_run(suite)
    mid = seen["mid"]
    assert mid["conn"] == "live (WebSocket)"
    assert mid["counts"].startswith("5 passed1 failed"), mid  # before the gate opened: 6 of 10
    assert mid["progress"] == "6 / 10 tests"
    assert "run finished (exit code 1)" in seen["end"]
    # The failing test's id and message are shown as text: no element, no script, no dialog.
    assert seen["failure_id"] == HOSTILE
    assert "<script>alert(2)</script>" in seen["failure_summary"]
    assert "<script>alert(2)</script>" in seen["failure_text"]
    assert seen["images"] == 0 and seen["dialogs"] == []
    assert seen["code"] == 1, seen["out"]
    assert "1 failed, 9 passed" in seen["out"]


@pytest.mark.browser
def test_without_websocket_the_page_polls_and_says_so(suite: Path) -> None:
    need_browser()
    seen = watch_run(suite, init_script="delete window.WebSocket;")
    assert seen["mid"]["conn"].startswith("polling /api/state"), seen["mid"]
    assert "no WebSocket" in seen["mid"]["conn"]
    assert seen["mid"]["progress"] == "6 / 10 tests"
    assert "exit code 1" in seen["end"] and seen["dialogs"] == []
    assert seen["code"] == 1, seen["out"]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """Status, headers and body of GET ``url`` (an error status is returned, not raised)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.mark.browser
def test_when_the_websocket_keeps_failing_the_page_polls_and_says_so(suite: Path) -> None:
    need_browser()
    seen = watch_run(suite, refuse_websocket=True)
    assert seen["mid"]["conn"] == "polling /api/state every 1 s (WebSocket failed)", seen["mid"]
    assert seen["mid"]["progress"] == "6 / 10 tests"
    assert "exit code 1" in seen["end"] and seen["code"] == 1, seen["out"]


def test_another_address_needs_the_token_on_http_and_websocket(suite: Path) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    run = start_run(suite, "0.0.0.0:0")
    try:
        address = run.url()
        assert "?token=" in address, address
        port = int(address.split(":")[2].split("/")[0])
        token = address.split("?token=")[1]
        base = f"http://127.0.0.1:{port}"
        status, _, body = get(f"{base}/api/state")
        assert status == 403 and "needs its token" in body
        assert get(f"{base}/api/state?token=wrong")[0] == 403
        status, headers, _ = get(f"{base}/?token={token}")
        assert status == 200
        headers = {k.lower(): v for k, v in headers.items()}
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        cookie = headers["set-cookie"].split(";")[0]
        from testfleet.testing import eventually

        def collected() -> dict[str, Any]:
            status, _, body = get(f"{base}/api/state", {"cookie": cookie})
            state = json.loads(body)
            assert status == 200 and state["total"] == 10  # the collection may still be under way
            return state

        assert eventually(collected, timeout=30)["planned_workers"] == 2
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10).close()
        with connect(
            f"ws://127.0.0.1:{port}/ws", additional_headers={"cookie": cookie}, open_timeout=10
        ) as ws:
            first = json.loads(ws.recv(timeout=10))
        assert first["snapshot"] is True and first["total"] == 10
        (suite / "gate").write_text("open")
        code, out = run.finish()
        assert code == 1, out
    finally:
        (suite / "gate").write_text("open")
        run.stop()


def test_a_port_in_use_is_a_usage_error(suite: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "testfleet", "run", "--db", "none", "--dashboard", str(port)],
            cwd=suite,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"--dashboard: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("how", ["pytest --fleet-dashboard", "pyproject dashboard = 0"])
def test_the_pytest_flag_and_the_pyproject_key_start_it_too(tmp_path: Path, how: str) -> None:
    (tmp_path / "test_small.py").write_text("def test_one():\n    pass\n")
    if how.startswith("pytest"):
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        args = [
            "-m",
            "pytest",
            "-p",
            "testfleet.plugin",
            "--fleet",
            "1",
            "--fleet-db",
            "none",
            "test_small.py",
            "--fleet-dashboard",
        ]
    else:
        (tmp_path / "pyproject.toml").write_text("[tool.testfleet]\ndashboard = 0\n")
        args = ["-m", "testfleet", "run", "-w", "1", "--db", "none"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTFLEET_DASHBOARD")}
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^testfleet: live dashboard at http://127\.0\.0\.1:\d+/$", proc.stdout, re.M), (
        proc.stdout
    )
