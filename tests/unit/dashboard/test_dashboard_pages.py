"""The history pages' HTML and the SVG charts, without a server: escaping, gaps, the
sections the analysis seam fills."""

from __future__ import annotations

import re

from testfleet.analysis.changepoints import Step
from testfleet.analysis.flaky import FlakyTest
from testfleet.analysis.forecast import Forecast, ForecastPoint
from testfleet.dashboard import pages, svg
from testfleet.dashboard.history import Grid, TrendPoint
from testfleet.dashboard.insights import Insights
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


def forecast(mean: float = 9.0, steps: int = 5) -> Forecast:
    return Forecast(
        "total-duration",
        "linear",
        3,
        tuple(ForecastPoint(k, mean, mean - 1, mean + 1, mean - 2, mean + 2) for k in range(1, steps + 1)),
    )


def test_the_forecast_is_drawn_after_the_last_run_with_its_80_and_95_percent_bands() -> None:
    found = Insights(flaky=[], window=3, regressions=[], forecast=forecast())
    html = pages.overview([point(0), point(1), point(2)], [], found)
    chart = html[html.index('data-chart="Total test time"') :]
    chart = chart[: chart.index("</figure>")]
    assert (
        chart.count('<polygon class="band band-95"') == 1
        and chart.count('<polygon class="band band-80"') == 1
    )
    assert chart.count('<circle class="forecast-point"') == 5 and chart.count('<circle class="point"') == 3
    assert "next run +1: forecast 9.0s; 80% 8.0s to 10.0s; 95% 7.0s to 11.0s" in chart
    # The band starts at the last run (x of run 2 of 8 slots) and the forecast lies right of it.
    xs = [float(x) for x in re.findall(r'<circle class="point" cx="([0-9.]+)"', chart)]
    ahead = [float(x) for x in re.findall(r'<circle class="forecast-point" cx="([0-9.]+)"', chart)]
    assert max(xs) < min(ahead) and ahead == sorted(ahead)
    assert "the next run 9.0s, 80% interval 8.0s to 10.0s, 95% 7.0s to 11.0s" in html
    assert re.search(r"<h2>Regressions \(0\)</h2><p class=\"muted\">none in the last 3", html)
    assert 'data-chart="Pass rate"' in html and html.count("<polygon") == 2  # only on the test time


def test_without_enough_runs_the_page_says_there_is_no_forecast() -> None:
    found = Insights(flaky=[], window=2, regressions=[], forecast=None)
    html = pages.overview([point(0), point(1)], [], found)
    assert "No forecast of the test time: it needs 3 whole-suite runs or more." in html
    assert "<polygon" not in html and "forecast-point" not in html


def test_flaky_and_regression_rows_escape_test_ids_and_show_the_evidence() -> None:
    flaky = FlakyTest(
        nodeid=HOSTILE,
        status="flaky",
        probability=0.3,
        interval=(0.1, 0.55),
        runs=10,
        failures=3,
        retried=1,
        same_commit=2,
        flips=4,
        broken_since=None,
        last_outcome="passed",
    )
    broken = FlakyTest(
        nodeid="t.py::test_<b>broken</b>",
        status="broken",
        probability=0.02,
        interval=(0.0, 0.2),
        runs=12,
        failures=0,
        retried=0,
        same_commit=0,
        flips=0,
        broken_since="run-<3>",
        last_outcome="failed",
    )
    step = Step(HOSTILE, "run-<1>", "c1", before_s=0.5, after_s=2.0, p_value=0.0004)
    found = Insights(flaky=[flaky, broken], window=3, regressions=[step], forecast=None)
    html = pages.overview([point(0)], [RunInfo(run_id="run-<2>", start=1.0, counts={"passed": 1})], found)
    for raw in ("<img src=x", "<b>broken", "run-<1>", "run-<2>", "run-<3>"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "test_&lt;b&gt;broken&lt;/b&gt;" in html
    flaky_table = html[html.index('<table class="flaky">') :]
    flaky_table = flaky_table[: flaky_table.index("</table>")]
    header = re.findall(r"<th>([^<]*)</th>", flaky_table)
    assert header[:4] == ["test", "status", "probability", "95% interval"]
    rows = re.findall(r"<tr>(.*?)</tr>", flaky_table)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert [re.sub("<[^>]+>", "", c[1]) for c in cells] == ["flaky", "broken"]
    assert cells[0][2:9] == ["30.0%", "10.0% to 55.0%", "10", "3", "1", "2", "4"]
    assert cells[1][9] == '<a href="/runs/run-%3C3%3E"><code>run-&lt;3&gt;</code></a>'
    regressions = html[html.index('<table class="regressions">') :]
    regressions = regressions[: regressions.index("</table>")]
    row = re.findall(r"<td[^>]*>(.*?)</td>", re.findall(r"<tr>(.*?)</tr>", regressions)[1])
    assert row[1:] == [
        '<a href="/runs/run-%3C1%3E"><code>run-&lt;1&gt;</code></a>',
        "0.5s",
        "2.0s",
        "4.00x",
        "0.0004",
    ]
    assert "<h2>Regressions (1)</h2>" in html and "<h2>Flaky tests (2)</h2>" in html


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
