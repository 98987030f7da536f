"""History commands (regressions, flaky, forecast, trends, anomalies) on synthetic histories with
known answers, written to real DuckDB files (tests/integration/histories.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from histories import Plan, build, run_id

from testfleet.cli.main import main

PLANS = [
    Plan(seed=1),
    Plan(
        seed=7,
        runs=40,
        slowed=("t_slow.py::test_x",),
        slow_at=20,
        slow_factor=2.0,
        fast_at=12,
        flaky={"t_flaky.py::test_rare": 0.1, "t_flaky.py::test_often": 0.3},
        broken_at=33,
        runs_per_commit=3,
        noise=0.08,
    ),
    Plan(
        seed=23,
        runs=32,
        slowed=("t_slow.py::test_a", "t_slow.py::test_b", "t_slow.py::test_c"),
        slow_at=10,
        slow_factor=1.6,
        fast_at=22,
        fast_factor=0.5,
        flaky={"t_flaky.py::test_p20": 0.2, "t_flaky.py::test_p50": 0.5},
        broken_at=26,
        grow_every=2,
        infra_run=17,
        partial_after=5,
    ),
]


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module", params=PLANS, ids=lambda p: f"seed{p.seed}")
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    plan: Plan = request.param
    path = tmp_path_factory.mktemp(f"h{plan.seed}") / "results.duckdb"
    build(path, plan)
    return plan, path


def test_regressions_names_exactly_the_slowed_tests_and_since_when(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan, db = history
    data = cli_json(capsys, "regressions", "--db", str(db))
    assert sorted(r["nodeid"] for r in data["regressions"]) == sorted(plan.slowed)
    for r in data["regressions"]:
        assert set(r) == {"nodeid", "since_run", "since_commit", "before_s", "after_s", "ratio", "p_value"}
        assert r["since_run"] == run_id(plan.slow_at, plan.seed)
        assert r["since_commit"] == f"c{plan.seed}-{plan.slow_at // plan.runs_per_commit:03d}"
        assert r["ratio"] == pytest.approx(plan.slow_factor, rel=0.15)
        assert r["after_s"] > r["before_s"] and 0.0 < r["p_value"] < 0.01
    assert [(r["nodeid"], r["since_run"]) for r in data["improvements"]] == [
        (plan.faster, run_id(plan.fast_at, plan.seed))
    ]
    assert data["improvements"][0]["ratio"] == pytest.approx(plan.fast_factor, rel=0.15)
    assert all(s["nodeid"] == "<suite total test time>" for s in data["suite"])
    if plan.seed == 1:  # two tests 4x slower: the suite's total test time steps up with them
        assert [s["since_run"] for s in data["suite"]] == [run_id(plan.slow_at, plan.seed)]
        assert data["suite"][0]["ratio"] > 1.25


def test_flaky_names_the_flaky_tests_and_calls_the_broken_one_broken(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan, db = history
    data = cli_json(capsys, "flaky", "--db", str(db))
    status = {t["nodeid"]: t["status"] for t in data["tests"]}
    assert {n for n, s in status.items() if s == "flaky"} == set(plan.flaky)
    assert {n for n, s in status.items() if s == "broken"} == {plan.broken}
    assert data["infrastructure_runs"] == [run_id(plan.infra_run, plan.seed)]
    by_id = {t["nodeid"]: t for t in data["tests"]}
    assert by_id[plan.broken]["broken_since"] == run_id(plan.broken_at, plan.seed)
    for t in data["tests"]:
        lo, hi = t["interval"]
        assert 0.0 <= lo <= t["probability"] <= hi <= 1.0
    (low, lo_rate), (high, hi_rate) = sorted(plan.flaky.items(), key=lambda kv: kv[1])
    assert by_id[low]["probability"] < by_id[high]["probability"]
    for nodeid, rate in plan.flaky.items():  # the true rate is inside the 95% credible interval
        lo, hi = by_id[nodeid]["interval"]
        assert lo <= rate <= hi, (nodeid, rate, lo, hi)


@pytest.mark.parametrize("method", ["linear", "ets"])
def test_forecast_95_intervals_hold_the_next_runs(
    method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for plan in PLANS:
        db = tmp_path / f"f{plan.seed}.duckdb"
        known = build(db, plan, upto=plan.runs - 5)
        data = cli_json(
            capsys,
            "forecast",
            "--db",
            str(db),
            "--metric",
            "total-duration",
            "--horizon",
            "5",
            "--method",
            method,
        )
        assert data["metric"] == "total-duration" and data["method"] == method
        points = data["points"]
        assert [p["step"] for p in points] == [1, 2, 3, 4, 5]
        assert all(p["lo95"] <= p["lo80"] <= p["mean"] <= p["hi80"] <= p["hi95"] for p in points)
        held_out = known.totals[-5:]
        inside = sum(p["lo95"] <= y <= p["hi95"] for p, y in zip(points, held_out, strict=True))
        assert inside >= 4, (plan.seed, points, held_out)


def test_forecast_in_a_fresh_process_imports_neither_statsmodels_nor_pandas(
    history: tuple[Plan, Path],
) -> None:
    # Importing statsmodels cost a one-shot `testfleet forecast` 1-2 s of its 1 s budget
    # (benchmarks/RESULTS.md); the ets method is pure Python now and the default.
    _, db = history
    script = (
        "import json, sys\n"
        "from testfleet.cli.main import main\n"
        "code = main(['forecast', '--db', sys.argv[1], '--format', 'json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'statsmodels', 'pandas', 'scipy'})\n"
        "print('REPORT', json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(db)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    printed, _, report = done.stdout.rpartition("REPORT ")
    forecast_json = json.loads(printed)
    assert forecast_json["method"] == "ets" and len(forecast_json["points"]) == 5
    assert json.loads(report) == {"code": 0, "heavy": []}


def test_partial_runs_are_left_out_unless_asked_for(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan, db = history
    partial = f"{plan.seed:04x}ffff{plan.partial_after:04x}"
    runs = cli_json(capsys, "trends", "--db", str(db), "--runs", "100")["runs"]
    assert [r["run_id"] for r in runs] == [run_id(i, plan.seed) for i in range(plan.runs)]
    assert [r["tests"] for r in runs] == sorted(r["tests"] for r in runs)  # the suite grows
    assert runs[-1]["tests"] > runs[0]["tests"]
    everything = cli_json(capsys, "trends", "--db", str(db), "--runs", "100", "--include-partial")["runs"]
    assert partial in [r["run_id"] for r in everything] and len(everything) == plan.runs + 1
    # Counted, the -k run's two failures would make two steady tests look flaky.
    flaky = cli_json(capsys, "flaky", "--db", str(db), "--include-partial")["tests"]
    assert len({t["nodeid"] for t in flaky if t["status"] == "flaky"} - set(plan.flaky)) == 2


def test_trends_text_has_sparklines_and_one_test_history(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan, db = history
    assert main(["trends", "--db", str(db), "--runs", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "trends over 10 runs, oldest first"
    assert [line.split()[0] for line in out[1:7]] == ["pass", "tests", "failed", "flaky", "test", "wall"]
    assert all(len(line) <= 80 for line in out)
    slowed = plan.slowed[0]
    data = cli_json(capsys, "trends", slowed, "--db", str(db), "--runs", "100")
    assert [p["run_id"] for p in data["points"]] == [run_id(i, plan.seed) for i in range(plan.runs)]
    seconds = [p["seconds"] for p in data["points"]]
    assert min(seconds[plan.slow_at :]) > max(seconds[: plan.slow_at]) or plan.slow_factor < 2
    assert main(["trends", "t.py::nope", "--db", str(db)]) == 4
    assert capsys.readouterr().err.startswith("testfleet: error: no test 't.py::nope' in the last 30 runs")


def test_anomalies_name_the_slowed_tests_in_the_run_they_slowed(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan, db = history
    data = cli_json(capsys, "anomalies", run_id(plan.slow_at, plan.seed), "--db", str(db))
    assert data["run_id"] == run_id(plan.slow_at, plan.seed)
    assert sorted(a["nodeid"] for a in data["durations"]) == sorted(plan.slowed)
    assert all(a["z"] > 5 for a in data["durations"])
    broke = cli_json(capsys, "anomalies", run_id(plan.broken_at, plan.seed), "--db", str(db))
    assert [(o["nodeid"], o["outcome"]) for o in broke["outcomes"]] == [(plan.broken, "failed")]
    assert broke["outcomes"][0]["passed_before"] >= 10


def test_history_commands_refuse_bad_windows_in_one_line(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, db = history
    for args, message in [
        (["flaky", "--runs", "1"], "--runs 1: give a number of runs of at least 2"),
        (["regressions", "--runs", "0"], "--runs 0: give a number of runs of at least 1"),
        (["forecast", "--horizon", "0"], "--horizon 0: give a number of runs of at least 1"),
        (["regressions", "--min-ratio", "1"], "--min-ratio must be above 1.0"),
    ]:
        assert main([*args, "--db", str(db)]) == 4
        err = capsys.readouterr().err
        assert err.startswith(f"testfleet: error: {message}") and err.count("\n") == 1


def test_compare_gates_on_added_failures_and_does_not_call_a_flaky_pass_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from testfleet.model import RunInfo
    from testfleet.model import TestResult as Result
    from testfleet.store import open_store

    db = tmp_path / "r.duckdb"
    store = open_store(db, rootdir=tmp_path)
    history = [
        {"ok": "passed", "wobbly": o} for o in ["passed", "failed", "passed", "failed", "passed", "failed"]
    ]
    history.append({"ok": "passed", "wobbly": "passed", "added_bad": "failed", "broke": "failed"})
    history[-2]["broke"] = "passed"
    history.append({**history[-1], "added_too": "failed"})  # run 7: only adds a failing test
    for i, outcomes in enumerate(history):
        rid = f"cafe{i:08d}"
        store.start_run(RunInfo(run_id=rid, start=1000.0 * (i + 1), git_commit=f"c{i}"))
        store.add_results(
            [Result(rid, n, o, message=None if o == "passed" else "boom") for n, o in outcomes.items()]
        )
        store.finish_run(rid, "finished", 1000.0 * (i + 1) + 5, 0, {})
    store.close()
    data = cli_json(capsys, "compare", "cafe00000005", "cafe00000006", "--db", str(db))
    assert [c["nodeid"] for c in data["added_failures"]] == ["added_bad"]
    assert [c["nodeid"] for c in data["new_failures"]] == ["broke"]
    assert [c["nodeid"] for c in data["flaky_passes"]] == ["wobbly"] and data["fixed"] == []
    # run 7 only adds a failing test: new-failures trips on it, and so does added-failures
    only_added = cli_json(capsys, "compare", "--db", str(db))
    assert only_added["new_failures"] == [] and [c["nodeid"] for c in only_added["added_failures"]] == [
        "added_too"
    ]
    for gate in ("new-failures", "added-failures"):
        assert main(["compare", "--db", str(db), "--fail-on", gate]) == 1
    assert main(["compare", "--db", str(db), "--fail-on", "removed"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "compare",
                "cafe00000005",
                "cafe00000006",
                "--db",
                str(db),
                "--flaky-runs",
                "0",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert [c["nodeid"] for c in json.loads(capsys.readouterr().out)["fixed"]] == ["wobbly"]


def test_text_outputs_of_forecast_regressions_and_anomalies(
    history: tuple[Plan, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan, db = history
    assert main(["forecast", "--db", str(db), "--method", "linear", "--horizon", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("total-duration forecast from 20 runs (linear); latest ")
    assert [line.split()[0] for line in out[1:]] == ["step", "1", "2", "3"]
    assert main(["regressions", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"duration changes over the last {plan.runs} runs: {len(plan.slowed)} slowdown"
        f"{'s' if len(plan.slowed) > 1 else ''}, 1 speed-up"
    )
    assert f"  {plan.faster}" in out and all(f"  {n}" in out for n in plan.slowed)
    assert main(["anomalies", run_id(plan.broken_at, plan.seed), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "long-passing tests that failed:\n  FAILED t_broken.py::test_d after " in out
