"""Analysis: pure functions over what the store returns (no I/O, no heavy imports).

History (docs/analysis.md): the inputs are ``store.run_stats(...)`` (``list[RunStats]``, oldest
first) and ``store.test_series(run_ids)`` (``list[TestSeries]``); every result has ``as_dict()``
giving the JSON the CLI prints. One run or two: :mod:`.clusters`, :mod:`.compare`. The forecast
function is ``testfleet.analysis.forecast.forecast`` (not re-exported: it would hide the module).
"""

from __future__ import annotations

from testfleet.analysis.anomalies import Anomalies, find_anomalies
from testfleet.analysis.changepoints import Regressions, Step, change_points, find_regressions, find_steps
from testfleet.analysis.clusters import Cluster, cluster_failures, cluster_id, new_cluster_ids
from testfleet.analysis.flaky import FlakyTest, find_flaky, infrastructure_runs, known_flaky
from testfleet.analysis.forecast import Forecast, ForecastPoint, metric_values
from testfleet.analysis.trends import NodePoint, metric, node_trend, run_trends, sparkline

__all__ = [
    "Anomalies",
    "Cluster",
    "FlakyTest",
    "Forecast",
    "ForecastPoint",
    "NodePoint",
    "Regressions",
    "Step",
    "change_points",
    "cluster_failures",
    "cluster_id",
    "find_anomalies",
    "find_flaky",
    "find_regressions",
    "find_steps",
    "infrastructure_runs",
    "known_flaky",
    "metric",
    "metric_values",
    "new_cluster_ids",
    "node_trend",
    "run_trends",
    "sparkline",
]
