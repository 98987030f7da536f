"""The history pages' HTML and the SVG charts, without a server: escaping, gaps, the
sections the analysis seam fills."""

from __future__ import annotations

import re

from testfleet.analysis.flaky import FlakyTest
from testfleet.dashboard import pages, svg
from testfleet.dashboard.history import Grid, TrendPoint
from testfleet.dashboard.insights import Band, Insights, Regression
from testfleet.model import RunInfo

HOSTILE = "t.py::test[<img src=x onerror=alert(1)>]"


def point(i: int, passed: int = 9, failing: int = 1) -> TrendPoint:
    return TrendPoint(
        run_id=f"run-{i}",
        start=1_790_000_000.0 + i,
        wall=10.0,
        tests=10,
        passed=passed,
        failing=failing,
        test_seconds=5.0 + i,
        flaky=i % 2,
    )


def test_a_line_chart_has_one_point_per_value_and_a_gap_for_none() -> None:
    chart = svg.line_chart("rate", ["a", "b", "c", "d"], [0.5, None, 0.7, 0.9], svg.percent)
    assert chart.count('<circle class="point"') == 3
    assert chart.count("<polyline") == 1  # a..(gap)..c-d: only c-d is a line
    assert "<title>d: 90.0%</title>" in chart


def test_labels_are_escaped_in_charts() -> None:
    chart = svg.bar_chart("<b>", ["<script>x</script>"], [3], ends=("<i>", "</i>"))
    assert "<script>" not in chart and "&lt;script&gt;x&lt;/script&gt;: 3" in chart
    assert "<b>" not in chart and "<i>" not in chart


def test_a_forecast_band_is_drawn_behind_the_line() -> None:
    found = Insights(flaky=[], flaky_window=3, regressions=[], forecast=[Band("run-1", 4.0, 8.0)])
    html = pages.overview([point(0), point(1), point(2)], [], found)
    assert html.count('<polygon class="band"') == 1
    assert "Forecast band" not in html  # no "not available" note when there is one
    assert '<h2>Regressions</h2><p class="muted">none</p>' in html


def test_missing_analysis_is_said_not_hidden() -> None:
    found = Insights(flaky=[], flaky_window=3, regressions=None, forecast=None)
    html = pages.overview([point(0), point(1)], [], found)
    assert "Forecast band of the test time: not available in this build" in html
    assert re.search(r"<h2>Regressions</h2><p class=\"note\">Not available in this build", html)
    assert "<polygon" not in html


def test_flaky_and_regression_rows_escape_test_ids_and_messages() -> None:
    flaky = FlakyTest(
        nodeid=HOSTILE,
        verdicts=3,
        passes=2,
        failures=1,
        flips=2,
        same_commit_flips=0,
        retried=0,
        last_outcome="passed",
        last_failure="<script>alert(2)</script>",
    )
    found = Insights(
        flaky=[flaky],
        flaky_window=3,
        regressions=[Regression(HOSTILE, "new failure", "run-<1>", "<b>evidence</b>")],
        forecast=None,
    )
    html = pages.overview([point(0)], [RunInfo(run_id="run-<2>", start=1.0, counts={"passed": 1})], found)
    for raw in ("<img src=x", "<script>", "<b>evidence", "run-<1>", "run-<2>"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_the_grid_colours_each_cell_and_escapes_names() -> None:
    runs = [RunInfo(run_id=f"r{i}", start=float(i)) for i in range(3)]
    grid = Grid(
        runs=runs, nodeids=[HOSTILE], cells=[[("passed", False), None, ("passed", True)]], total_tests=7
    )
    html = pages.grid_page(grid, "<x>", 3)
    cells = re.findall(r'<td class="cell ([a-z_-]+)"', html)
    assert cells == ["c-passed", "c-none", "c-flaky"]
    assert "<img src=x" not in html and 'value="&lt;x&gt;"' in html
    assert "1 of 7 tests" in html
