"""``testfleet dashboard``: the history pages of a real DuckDB store, in chromium; the static
report's charts; the store is only read."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from dashboard_helpers import Process, browser_page, build_store, need_browser

RUNS, TESTS = 30, 300
TIMEOUT_MS = 30_000
HOSTILE_SUITE = """
import pytest
@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>"])
def test_hostile(name):
    assert False, "<script>alert(2)</script>"
def test_fine():
    pass
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "results.duckdb"
    build_store(path, RUNS, TESTS)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serve(db: Path) -> Process:
    return Process(["dashboard", "--db", str(db), "--port", "0"], db.parent)


@pytest.mark.browser
def test_the_history_pages_render_charts_tables_and_the_grid_for_30_runs(store: Path) -> None:
    need_browser()
    from playwright.sync_api import expect

    before = digest(store)
    server = serve(store)
    try:
        base = server.url().rstrip("/")
        with browser_page() as (page, dialogs):
            page.goto(base + "/")
            charts = page.locator("figure.chart")
            expect(charts).to_have_count(3, timeout=TIMEOUT_MS)
            assert charts.locator("figcaption").all_text_contents() == [
                "Pass rate",
                "Total test time",
                "Flaky tests",
            ]
            rate = page.locator('figure[data-chart="Pass rate"] svg')
            expect(rate.locator("circle.point")).to_have_count(RUNS)
            assert rate.bounding_box() is not None and rate.bounding_box()["width"] > 300  # type: ignore[index]
            expect(page.locator('figure[data-chart="Total test time"] circle.point')).to_have_count(RUNS)
            bars = page.locator('figure[data-chart="Flaky tests"] rect.chart-bar')
            expect(bars).to_have_count(RUNS)
            # Even runs have the most retried passes: their bars reach the top, odd runs' are empty.
            tall, empty = bars.nth(0).bounding_box(), bars.nth(1).bounding_box()
            assert tall is not None and tall["height"] > 100 and empty is not None and empty["height"] < 1
            # Run 0 (every third run a t % 97 test fails): 4 of 294 verdicts failing.
            first = rate.locator("circle.point title").first.text_content()
            assert (
                first is not None and first.startswith("20261101-000000-0000") and first.endswith(": 98.6%")
            )
            # The forecast of the next 5 runs, right of the last run: 95% and 80% bands, 5 points.
            time_chart = page.locator('figure[data-chart="Total test time"] svg')
            expect(time_chart.locator("polygon.band-95")).to_have_count(1)
            expect(time_chart.locator("polygon.band-80")).to_have_count(1)
            ahead = time_chart.locator("circle.forecast-point")
            expect(ahead).to_have_count(5)
            last = time_chart.locator("circle.point").last.bounding_box()
            first_ahead = ahead.first.bounding_box()
            assert last is not None and first_ahead is not None and first_ahead["x"] > last["x"]
            tip = ahead.first.locator("title").text_content() or ""
            assert tip.startswith("next run +1: forecast ") and "; 80% " in tip and "; 95% " in tip
            assert "Forecast of the total test time" in page.locator("p.forecast-note").inner_text()
            expect(page.locator("table.runs tr")).to_have_count(RUNS + 1)
            flaky = page.locator("table.flaky")
            header = flaky.locator("th").all_text_contents()
            assert header[:4] == ["test", "status", "probability", "95% interval"]
            rows = {
                r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()
                for r in flaky.locator("tr").all()[1:]
            }
            # Retried into a pass in every even run: flaky; fails in every third run, a pass and a
            # failure on one commit: flaky; fails in every run from 21 on: broken since run 21.
            # Intervals: scipy.stats.beta.ppf([0.025, 0.975], 0.5 + k, 0.5 + n - k).
            retried = rows["tests/test_mod000.py::test_case_000003"]  # 15 of 30 failed once
            assert retried[1:6] == ["flaky", "50.0%", "32.8% to 67.2%", "30", "15"], retried
            third = rows["tests/test_mod000.py::test_case_000097"]  # 10 of 30
            assert third[1:6] == ["flaky", "33.9%", "18.6% to 51.1%", "30", "10"], third
            broken = rows["tests/test_mod000.py::test_case_000002"]
            assert broken[1] == "broken" and broken[9] == "20261101-000021-0015", broken
            assert list(rows)[-1] == "tests/test_mod000.py::test_case_000002"  # flaky first, then broken
            # Test 4 is 4x slower from run 20 on (0.2 s -> 0.8 s): the one regression.
            regressions = page.locator("table.regressions tr")
            expect(regressions).to_have_count(2)
            cells = regressions.nth(1).locator("td").all_inner_texts()
            assert cells[:5] == [
                "tests/test_mod000.py::test_case_000004",
                "20261101-000020-0014",
                "0.2s",
                "0.8s",
                "3.91x",
            ], cells
            assert float(cells[5]) < 0.01, cells

            page.click("text=Tests x runs")
            expect(page.locator("h1")).to_have_text("Tests x runs", timeout=TIMEOUT_MS)
            rows = page.locator("table.grid-table tr")
            # Most failing first: test 2 failed in the last 9 of the 20 runs shown.
            assert rows.nth(1).locator("td.name").text_content() == "tests/test_mod000.py::test_case_000002"
            assert rows.nth(1).locator("td.c-failed").count() == 9
            assert rows.nth(1).locator("td.cell").count() == 20

            page.goto(base + "/runs/20261101-000021?q=case_0000&outcome=failed")
            heading = page.locator("h2", has_text="Tests (")
            expect(heading).to_have_text("Tests (3 matching)", timeout=TIMEOUT_MS)
            assert page.locator("table.tests").inner_text().count("failed") == 3  # tests 0, 2 and 97
            assert dialogs == []
    finally:
        server.stop()
    assert digest(store) == before  # the dashboard never wrote the file
    assert not store.with_suffix(".duckdb.wal").exists()


@pytest.mark.browser
def test_a_run_stored_while_the_dashboard_serves_appears_and_its_hostile_test_stays_text(
    tmp_path: Path,
) -> None:
    need_browser()
    from playwright.sync_api import expect

    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_hostile.py").write_text(HOSTILE_SUITE)
    db = tmp_path / "results.duckdb"

    def fleet_run() -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "testfleet", "run", "-w", "1", "--db", str(db)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr

    build_store(db, 1, 5)  # an earlier run
    server = serve(db)
    try:
        base = server.url().rstrip("/")
        with browser_page() as (page, dialogs):
            page.goto(base + "/")
            expect(page.locator("table.runs tr")).to_have_count(2, timeout=TIMEOUT_MS)
            fleet_run()  # writes the file while the dashboard serves it
            page.reload()
            expect(page.locator("table.runs tr")).to_have_count(3, timeout=TIMEOUT_MS)
            page.locator("table.runs a").first.click()
            failure = page.locator("details.failure code.nodeid")
            expect(failure).to_have_text(
                "test_hostile.py::test_hostile[<img src=x onerror=alert(1)>]", timeout=TIMEOUT_MS
            )
            assert "<script>alert(2)</script>" in page.locator("details.failure summary").inner_text()
            assert (
                page.locator("details.failure img").count() == 0 and page.locator("body script").count() == 0
            )
            assert dialogs == []
    finally:
        server.stop()


def test_the_static_report_gains_the_history_charts(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "testfleet", "report", "--db", str(store), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert f"History (last {RUNS} runs)" in page
    assert page.count('<circle class="point"') == 2 * RUNS and page.count('<rect class="chart-bar"') == RUNS
    # The forecast of the next 5 runs on the test-time chart, as on the dashboard.
    assert (
        page.count('<polygon class="band band-95"') == 1 and page.count('<circle class="forecast-point"') == 5
    )
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_report_of_an_older_run_charts_only_the_runs_up_to_it(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "testfleet", "report", "20261101-000009", "--db", str(store), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "History (last 10 runs)" in out.read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--db", "missing.duckdb"], 4, "no results store at"),
        (["--db", "none"], 4, "--db none keeps no results"),
        (["--db", "notastore.duckdb"], 1, "is not a DuckDB database"),
        (["--db", "results.duckdb", "--port", "http"], 4, "--port: 'http' is not a whole number"),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    (tmp_path / "notastore.duckdb").write_text("hello")
    build_store(tmp_path / "results.duckdb", 1, 1)
    proc = subprocess.run(
        [sys.executable, "-m", "testfleet", "dashboard", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("testfleet: error: ") and message in lines[0], proc.stderr


def test_the_page_reads_the_same_window_and_verdicts_as_the_history_commands(
    store: Path, tmp_path: Path
) -> None:
    """The page picks its tests before reading their series (for speed) and computes intervals
    only for the rows shown: the answers must be those of the store's queries and find_flaky."""
    import shutil

    from testfleet.analysis.changepoints import DEFAULT_MIN_RATIO, DEFAULT_MIN_SECONDS, find_regressions
    from testfleet.analysis.flaky import find_flaky
    from testfleet.dashboard.history import HistoryReader, trends
    from testfleet.dashboard.insights import (
        FAILED_SOMETIME,
        SPREAD_ENOUGH,
        insights,
        top_flaky,
        window_runs,
        window_series,
    )
    from testfleet.store.duckdb import DuckDBStore

    copy = tmp_path / "copy.duckdb"
    shutil.copy(store, copy)
    cli = DuckDBStore(copy, readonly=True)
    try:
        runs = cli.run_stats(limit=50)
        ids = [r.run_id for r in runs]
        failing = cli.test_series(ids, failing_only=True)
        spread = cli.test_series(ids, spread=(DEFAULT_MIN_SECONDS, DEFAULT_MIN_RATIO))
    finally:
        cli.close()
    reader = HistoryReader(store)
    try:
        with reader.session() as conn:
            assert window_runs(conn, 50) == runs and len(runs) == RUNS
            assert (
                window_series(conn, runs, FAILED_SOMETIME) == failing and len(failing) == 7
            )  # t % 97 == 0, t % 211 == 3, t == 2
            mine = window_series(conn, runs, SPREAD_ENOUGH, DEFAULT_MIN_SECONDS, DEFAULT_MIN_RATIO)
            assert mine == spread and [s.nodeid for s in spread] == ["tests/test_mod000.py::test_case_000004"]
            found = insights(conn, trends(conn))
    finally:
        reader.close()
    assert top_flaky(runs, failing, 3) == find_flaky(runs, failing)[:3]
    assert found.flaky == find_flaky(runs, failing) and len(found.flaky) == 7
    assert found.regressions == find_regressions(runs, spread).regressions
    assert (
        found.forecast is not None and found.forecast.method == "linear" and len(found.forecast.points) == 5
    )
