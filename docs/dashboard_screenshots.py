"""Takes the screenshots in docs/dashboard.md: ``python docs/dashboard_screenshots.py``.

Needs the ``dashboard`` extra, Playwright and chromium (``/usr/bin/chromium``). The live page is
shot in the middle of a real run of a small suite (its last tests wait for a gate file); the
history pages are shot on a synthetic store of 30 runs x 1,000 tests.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests" / "integration"))
from dashboard_helpers import Process, build_store  # noqa: E402

SUITE = """
import os, time, pytest
GATE = os.path.join(os.path.dirname(__file__), "gate")

@pytest.mark.parametrize("n", range(40))
def test_parse(n):
    time.sleep(0.02)
    assert n % 17 != 5, f"parsed {n!r} as {n + 1!r}"

@pytest.mark.parametrize("region", ["eu-west", "us-east"])
def test_replication_converges(region):
    deadline = time.monotonic() + 60
    while not os.path.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.01)
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        root = Path(tmp)
        (root / "pytest.ini").write_text("[pytest]\n")
        (root / "test_service.py").write_text(SUITE)
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 720})
        run = Process(["run", "-w", "2", "--db", "none", "--order", "collection", "--dashboard"], root)
        try:
            page.goto(run.url())
            expect(page.locator("#counts")).to_contain_text("37 passed", timeout=60_000)
            expect(page.locator("code.lane-test", has_text="replication").first).to_be_visible(timeout=60_000)
            page.locator("details.failure").first.click()
            page.screenshot(path=str(DOCS / "img" / "dashboard-live.png"))
        finally:
            (root / "gate").write_text("open")
            run.finish()
        db = root / "results.duckdb"
        build_store(db, 30, 1000)
        server = Process(["dashboard", "--db", str(db), "--port", "0"], root)
        try:
            base = server.url().rstrip("/")
            page.set_viewport_size({"width": 1260, "height": 900})
            page.goto(base + "/")
            page.screenshot(path=str(DOCS / "img" / "dashboard-history.png"))
            page.goto(base + "/grid?runs=30")
            page.screenshot(path=str(DOCS / "img" / "dashboard-grid.png"))
            page.goto(base + "/runs/20261101-000027")
            page.locator("details.failure").first.click()
            page.screenshot(path=str(DOCS / "img" / "dashboard-run.png"))
        finally:
            server.stop()
        browser.close()
    subprocess.run(["ls", "-la", str(DOCS / "img")], check=False)


if __name__ == "__main__":
    main()
