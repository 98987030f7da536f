"""--dashboard / --fleet-dashboard / dashboard = ... in pyproject: parsing and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from testfleet.cli.run import translate
from testfleet.config import build, parse_dashboard
from testfleet.errors import UsageError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8000", ("127.0.0.1", 8000)),
        ("0", ("127.0.0.1", 0)),
        ("auto", ("127.0.0.1", 0)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("[::1]:9000", ("::1", 9000)),
        (True, ("127.0.0.1", 0)),
        (8001, ("127.0.0.1", 8001)),
        (False, None),
        (None, None),
    ],
)
def test_accepted_values(value: object, expected: object) -> None:
    assert parse_dashboard("--dashboard", value) == expected


@pytest.mark.parametrize("value", ["tests/", "80000", "host:port", "-1"])
def test_bad_values_name_the_option_and_what_is_accepted(value: str) -> None:
    with pytest.raises(UsageError, match=r"^--dashboard: .* is not a port \(\[HOST:\]PORT, 0 or auto"):
        parse_dashboard("--dashboard", value)


def test_run_takes_an_optional_port_and_never_a_test_path() -> None:
    assert translate(["--dashboard", "tests/"])[1:] == ["default", "--fleet-dashboard", "0", "tests/"]
    assert translate(["--dashboard", "8123", "tests/"])[2:] == ["--fleet-dashboard", "8123", "tests/"]
    assert translate(["--dashboard=0.0.0.0:80"])[2:] == ["--fleet-dashboard", "0.0.0.0:80"]
    assert translate(["--dashboard", "-k", "x"])[2:] == ["--fleet-dashboard", "0", "-k", "x"]
    assert translate(["--dashboard-token", "t"])[2:] == ["--fleet-dashboard-token", "t"]


def test_pyproject_key_and_flag_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESTFLEET_DASHBOARD", raising=False)
    (tmp_path / "pyproject.toml").write_text('[tool.testfleet]\ndashboard = 8500\ndashboard_token = "abc"\n')
    settings = build({}, tmp_path)
    assert settings.dashboard == ("127.0.0.1", 8500) and settings.dashboard_token == "abc"
    assert build({"dashboard": "9000"}, tmp_path).dashboard == ("127.0.0.1", 9000)
    (tmp_path / "pyproject.toml").write_text('[tool.testfleet]\ndashboard = "nope"\n')
    with pytest.raises(UsageError, match="'nope' is not a port"):
        build({}, tmp_path)
