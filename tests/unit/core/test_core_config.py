"""Settings: value parsers and the flag > environment > pyproject > default precedence."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from testfleet import config
from testfleet.errors import UsageError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TESTFLEET_"):
            monkeypatch.delenv(name)


def pyproject(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.testfleet]\n{body}\n", encoding="utf-8")
    return tmp_path


# --------------------------------------------------------------------------- parsers


def test_parse_workers_auto_is_the_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.os, "cpu_count", lambda: 6)
    assert config.parse_workers("auto") == 6
    monkeypatch.setattr(config.os, "cpu_count", lambda: None)
    assert config.parse_workers("auto") == 1


@pytest.mark.parametrize(("value", "expected"), [("3", 3), (" 12 ", 12), (4, 4)])
def test_parse_workers_numbers(value: Any, expected: int) -> None:
    assert config.parse_workers(value) == expected


@pytest.mark.parametrize("value", ["0", "abc", "-2", "1.5", ""])
def test_parse_workers_rejects(value: str) -> None:
    with pytest.raises(UsageError) as info:
        config.parse_workers(value)
    assert str(info.value) == f"--workers: {value!r} is not a positive whole number or 'auto'"


def test_parse_seconds() -> None:
    assert config.parse_seconds("--timeout", None) is None
    assert config.parse_seconds("--timeout", "2.5") == 2.5
    assert config.parse_seconds("--timeout", 7) == 7.0
    with pytest.raises(UsageError, match=r"^--timeout: 'x' is not a number of seconds$"):
        config.parse_seconds("--timeout", "x")
    with pytest.raises(UsageError, match=r"^--timeout: '0' must be greater than 0$"):
        config.parse_seconds("--timeout", "0")
    with pytest.raises(UsageError, match=r"must be greater than 0"):
        config.parse_seconds("--timeout", "-1")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1h", 3600.0),
        ("2m30s", 150.0),
        ("1.5m", 90.0),
        (" 5m ", 300.0),
    ],
)
def test_parse_duration(value: str, seconds: float) -> None:
    assert config.parse_duration("--deadline", value) == seconds


@pytest.mark.parametrize("value", ["soon", "", "m", "10x", "5ms"])
def test_parse_duration_rejects_non_durations(value: str) -> None:
    with pytest.raises(UsageError) as info:
        config.parse_duration("--deadline", value)
    assert str(info.value) == f"--deadline: {value!r} is not a duration (examples: 90s, 10m, 1h30m)"


def test_parse_duration_rejects_zero_and_passes_none() -> None:
    with pytest.raises(UsageError, match=r"^--deadline: '0s' must be longer than 0$"):
        config.parse_duration("--deadline", "0s")
    assert config.parse_duration("--deadline", None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("duration", ("duration", None)),
        ("collection", ("collection", None)),
        ("failed-first", ("failed-first", None)),
        ("random", ("random", None)),
        ("random:42", ("random", 42)),
    ],
)
def test_parse_order(value: str, expected: tuple[str, int | None]) -> None:
    assert config.parse_order(value) == expected


def test_parse_order_rejects() -> None:
    with pytest.raises(UsageError, match=r"'value' is not one of collection, duration, failed-first, random"):
        config.parse_order("value")
    with pytest.raises(UsageError, match=r"'collection:3' is not one of"):
        config.parse_order("collection:3")
    with pytest.raises(UsageError, match=r"^--order: seed 'x' is not a whole number$"):
        config.parse_order("random:x")


# --------------------------------------------------------------------------- build


def test_defaults(tmp_path: Path) -> None:
    s = config.build({}, tmp_path)
    assert s == config.Settings()
    assert (s.workers, s.workers_given, s.order, s.port_base, s.port_count) == (
        2,
        False,
        "duration",
        40000,
        50,
    )


def test_flag_beats_env_beats_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = pyproject(tmp_path, 'workers = 5\ntimeout = 30\nretries = 1\norder = "collection"')
    monkeypatch.setenv("TESTFLEET_WORKERS", "4")
    monkeypatch.setenv("TESTFLEET_TIMEOUT", "20")
    s = config.build({"workers": "3"}, root)
    assert (s.workers, s.workers_given) == (3, True)
    assert s.timeout == 20.0
    assert (s.retries, s.order) == (1, "collection")


def test_empty_env_var_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTFLEET_WORKERS", "")
    assert config.build({}, pyproject(tmp_path, "workers = 5")).workers == 5


def test_env_values_are_validated_with_the_variable_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTFLEET_START", "thread")
    with pytest.raises(UsageError, match=r"^TESTFLEET_START: 'thread' is not one of fork, spawn$"):
        config.build({}, tmp_path)


def test_pyproject_values_are_validated_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^\[tool\.testfleet\] retries: '-1' is not a whole number >= 0$"):
        config.build({}, pyproject(tmp_path, "retries = -1"))


def test_flag_values_are_validated_with_the_pytest_option_unless_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testfleet import options

    monkeypatch.setattr(options, "spelled", {})
    with pytest.raises(UsageError, match=r"^--fleet: '0' is not a positive whole number or 'auto'$"):
        config.build({"workers": "0"}, tmp_path)
    monkeypatch.setitem(options.spelled, "workers", "-w")
    with pytest.raises(UsageError, match=r"^-w: '0' is not a positive whole number or 'auto'$"):
        config.build({"workers": "0"}, tmp_path)


@pytest.mark.parametrize(
    ("body", "tags"),
    [('tags = "browser"', ["browser"]), ('tags = "a, b"', ["a", "b"]), ('tags = ["x"]', ["x"])],
)
def test_tags_string_in_pyproject_is_one_tag_or_a_comma_list(
    tmp_path: Path, body: str, tags: list[str]
) -> None:
    assert config.build({}, pyproject(tmp_path, body)).tags == tags


def test_tags_of_another_type_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^\[tool\.testfleet\] tags: \{'a': 1\} is not a list of names"):
        config.build({}, pyproject(tmp_path, "tags = {a = 1}"))


def test_report_json_is_checked_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from testfleet import options

    monkeypatch.setattr(options, "spelled", {})
    with pytest.raises(UsageError, match=r"^--fleet-report-json: .* is a directory"):
        config.build({"report_json": str(tmp_path)}, tmp_path)
    with pytest.raises(UsageError, match=r"directory .*nope does not exist$"):
        config.build({"report_json": str(tmp_path / "nope" / "r.json")}, tmp_path)
    assert config.build({"report_json": str(tmp_path / "r.json")}, tmp_path).report_json == str(
        tmp_path / "r.json"
    )


def test_every_pyproject_key_and_env_var_comes_from_the_option_table(tmp_path: Path) -> None:
    from testfleet.options import OPTIONS

    for o in OPTIONS:
        assert hasattr(config.Settings(), o.name) or o.name == "ray_no_ship", o.name


def test_order_with_seed_from_pyproject(tmp_path: Path) -> None:
    s = config.build({}, pyproject(tmp_path, 'order = "random:9"'))
    assert (s.order, s.seed) == ("random", 9)


def test_tags_flag_beats_env_beats_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = pyproject(tmp_path, 'tags = ["file"]')
    assert config.build({}, root).tags == ["file"]
    monkeypatch.setenv("TESTFLEET_TAGS", "a,,b")
    assert config.build({}, root).tags == ["a", "b"]
    assert config.build({"tags": ["flag"]}, root).tags == ["flag"]


def test_unknown_pyproject_key_names_it_and_the_known_keys(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        config.build({}, pyproject(tmp_path, "wokers = 3"))
    message = str(info.value)
    assert message.startswith(
        "[tool.testfleet]: unknown key 'wokers' (did you mean 'workers'?); known keys: "
    )
    assert "workers" in message.split("known keys: ")[1].split(", ")


def test_unreadable_pyproject_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.testfleet\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"cannot read \[tool\.testfleet\]"):
        config.build({}, tmp_path)


def test_port_range_past_65535_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        config.build({"workers": "10", "port_base": "65100"}, tmp_path)
    assert str(info.value) == "port_base 65100 with 10 workers x 50 ports goes past port 65535"
    assert config.build({"workers": "1", "port_base": "65485"}, tmp_path).port_base == 65485  # ends at 65535
    with pytest.raises(UsageError, match=r"goes past port 65535"):
        config.build({"workers": "1", "port_base": "65486"}, tmp_path)


def test_port_base_below_1024_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^TESTFLEET_PORT_BASE: '80' is not a whole number >= 1024$"):
        config.build({"port_base": "80"}, tmp_path)


def test_worker_tags_from_pyproject(tmp_path: Path) -> None:
    s = config.build({}, pyproject(tmp_path, 'worker_tags = {0 = ["browser"], 1 = ["gpu", "db"]}'))
    assert s.worker_tags == {"0": ["browser"], "1": ["gpu", "db"]}


@pytest.mark.parametrize("body", ['worker_tags = {0 = "browser"}', 'worker_tags = ["browser"]'])
def test_worker_tags_must_map_slots_to_lists(tmp_path: Path, body: str) -> None:
    with pytest.raises(UsageError, match=r"worker_tags must map a worker number to a list of tags"):
        config.build({}, pyproject(tmp_path, body))


def test_allow_unschedulable_from_flag_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.build({}, tmp_path).allow_unschedulable is False
    assert config.build({"allow_unschedulable": True}, tmp_path).allow_unschedulable is True
    monkeypatch.setenv("TESTFLEET_ALLOW_UNSCHEDULABLE", "1")
    assert config.build({}, tmp_path).allow_unschedulable is True


def test_allow_unschedulable_env_zero_means_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTFLEET_ALLOW_UNSCHEDULABLE", "0")
    assert config.build({}, tmp_path).allow_unschedulable is False
