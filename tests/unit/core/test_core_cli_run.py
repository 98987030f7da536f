"""``testfleet run`` argument translation to pytest arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from testfleet.cli.run import translate
from testfleet.console import Abort


@pytest.fixture(autouse=True)
def no_default_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TESTFLEET_WORKERS_DEFAULT", raising=False)
    monkeypatch.chdir(tmp_path)  # --resume looks at the filesystem
    from testfleet import options

    monkeypatch.setattr(options, "spelled", {})  # translate records the spellings


@pytest.mark.parametrize("argv", [["-w", "3"], ["-w3"], ["--workers", "3"], ["--workers=3"]])
def test_worker_count_spellings(argv: list[str]) -> None:
    assert translate(argv) == ["--fleet", "3"]


def test_without_workers_the_default_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    assert translate(["-x"]) == ["--fleet", "default", "-x"]
    monkeypatch.setenv("TESTFLEET_WORKERS_DEFAULT", "auto")
    assert translate([]) == ["--fleet", "auto"]


def test_value_options_translate_in_place() -> None:
    argv = ["--timeout", "5", "--report-json=out.json", "--db", "none", "-w", "2"]
    assert translate(argv) == [
        "--fleet-timeout",
        "5",
        "--fleet-report-json",
        "out.json",
        "--fleet-db",
        "none",
        "--fleet",
        "2",
    ]


def test_flags_without_values() -> None:
    assert translate(["--ray-no-ship", "--allow-unschedulable", "-w", "1"]) == [
        "--fleet-ray-no-ship",
        "--fleet-allow-unschedulable",
        "--fleet",
        "1",
    ]


def test_flag_given_a_value_aborts() -> None:
    with pytest.raises(Abort) as info:
        translate(["--ray-no-ship=yes"])
    assert info.value.code == 4
    assert str(info.value) == "--ray-no-ship takes no value"


@pytest.mark.parametrize("option", ["--timeout", "-w", "--db", "--tag"])
def test_missing_value_aborts_with_code_4(option: str) -> None:
    with pytest.raises(Abort) as info:
        translate(["tests", option])
    assert info.value.exit_code == 4
    assert str(info.value) == f"{option} needs a value"


def test_an_option_is_not_taken_for_a_value() -> None:
    with pytest.raises(Abort, match=r"^-w needs a value \(N\|auto\), not the option -q$"):
        translate(["-w", "-q", "tests"])


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("--workrs", "--workers"), ("--timout", "--timeout"), ("--report-jsn", "--report-json")],
)
def test_close_misspelling_of_a_flag_says_did_you_mean(typo: str, meant: str) -> None:
    with pytest.raises(Abort, match=rf"^unrecognized option {typo} \(did you mean {meant}\?\)$"):
        translate([typo, "2"])


@pytest.mark.parametrize("pytest_option", ["--durations", "--strict-markers", "--deselect", "--tb"])
def test_pytest_options_near_a_flag_pass_through(pytest_option: str) -> None:
    assert translate([pytest_option, "x"]) == ["--fleet", "default", pytest_option, "x"]


def test_translation_records_the_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    from testfleet import options

    monkeypatch.setattr(options, "spelled", {})
    translate(["-w", "2", "--timeout=3"])
    assert options.spelled == {"workers": "-w", "timeout": "--timeout"}


def test_help_is_generated_from_the_option_table_and_fits_80_columns() -> None:
    from testfleet.options import OPTIONS, run_help

    text = run_help()
    assert max(len(line) for line in text.splitlines()) <= 80
    for o in OPTIONS:
        assert (o.flag if o.run_flags else o.env_var) in text


def test_unknown_options_pass_through_in_order_and_position() -> None:
    argv = ["-x", "-k", "slow and not db", "-w", "2", "tests/a.py", "--lf", "-p", "no:cacheprovider", "-vv"]
    assert translate(argv) == [
        "-x",
        "-k",
        "slow and not db",
        "--fleet",
        "2",
        "tests/a.py",
        "--lf",
        "-p",
        "no:cacheprovider",
        "-vv",
    ]


def test_double_dash_ends_testfleet_options() -> None:
    assert translate(["-w", "2", "--", "-w", "9", "--timeout"]) == ["--fleet", "2", "-w", "9", "--timeout"]


def test_resume_with_and_without_value(tmp_path: Path) -> None:
    assert translate(["--resume", "abc123", "-w", "1"]) == ["--fleet-resume", "abc123", "--fleet", "1"]
    assert translate(["--resume=abc", "-w", "1"]) == ["--fleet-resume", "abc", "--fleet", "1"]
    assert translate(["-w", "1", "--resume"]) == ["--fleet", "1", "--fleet-resume", "last"]
    assert translate(["--resume", "-x", "-w", "1"]) == ["--fleet-resume", "last", "-x", "--fleet", "1"]
    (tmp_path / "tests").mkdir()
    assert translate(["--resume", "tests", "-w", "1"]) == ["--fleet-resume", "last", "tests", "--fleet", "1"]


def test_repeatable_options_keep_every_occurrence() -> None:
    assert translate(["--tag", "gpu", "--tag=web", "-w", "1"]) == [
        "--fleet-tag",
        "gpu",
        "--fleet-tag",
        "web",
        "--fleet",
        "1",
    ]


def test_order_deadline_and_auto_values_pass_verbatim() -> None:
    assert translate(["--order", "random:3", "--deadline", "1h30m", "-w", "auto"]) == [
        "--fleet-order",
        "random:3",
        "--fleet-deadline",
        "1h30m",
        "--fleet",
        "auto",
    ]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, 1),
        (["--fleet", "4"], {}, 1),
        (["--fleet", "4", "--fleet-collectors", "3"], {}, 3),
        (["--fleet", "2", "--fleet-collectors=3"], {}, 2),  # never more than the workers
        (["--fleet", "4"], {"TESTFLEET_COLLECTORS": "2"}, 2),
        (["--fleet-collectors", "2", "--fleet-backend", "ray"], {}, None),  # a usage error: pytest reports it
    ],
)
def test_testfleet_run_starts_as_many_collectors_early_as_the_run_will_have(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], expected: int | None
) -> None:
    from testfleet.cli.run import prestart_collectors
    from testfleet.errors import UsageError

    monkeypatch.delenv("TESTFLEET_COLLECTORS", raising=False)
    monkeypatch.delenv("TESTFLEET_WORKERS", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if expected is None:
        with pytest.raises(UsageError):
            prestart_collectors(args)
    else:
        assert prestart_collectors(args) == expected
