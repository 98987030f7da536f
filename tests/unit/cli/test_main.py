"""The one error path of the ``testfleet`` command: TestfleetError caught once in ``main``."""

from __future__ import annotations

import pytest

from testfleet.cli import main as cli_main
from testfleet.cli.parser import rewrite, suggest
from testfleet.errors import StoreError, TestfleetError, UsageError


def test_a_command_whose_module_fails_to_import_stays_listed_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli_main.COMMANDS, "ghost", "testfleet.cli.no_such_module")
    assert "ghost" in cli_main.build_parser().format_help()
    assert cli_main.main(["ghost", "--anything"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(
        "testfleet: error: testfleet ghost is unavailable: importing "
        "testfleet.cli.no_such_module failed: ModuleNotFoundError"
    )
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["rnu"],
            f"testfleet: error: 'rnu' is not a command; choose from {', '.join(cli_main.COMMANDS)} "
            "(did you mean run?)",
        ),
        (
            ["runs", "--limt", "3"],
            "testfleet: error: testfleet runs has no option --limt (did you mean --limit?)",
        ),
        (["runs", "--limit", "x"], "testfleet: error: runs --limit: 'x' is not a whole number"),
        (["show", "a", "b"], "testfleet: error: testfleet show: unexpected argument 'b'"),
    ],
)
def test_argparse_errors_are_one_line_with_exit_4(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main.main(argv) == 4
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("bad"), 4),
        (StoreError("bad"), 1),
        (TestfleetError("bad"), 3),
        (UsageError("bad", exit_code=5), 5),
    ],
)
def test_errors_carry_their_exit_code(
    error: TestfleetError, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def dispatch(args: list[str], *, standalone: bool = False) -> int:
        raise error

    monkeypatch.setattr(cli_main, "dispatch", dispatch)
    assert cli_main.main(["runs"]) == code
    assert capsys.readouterr().err == "testfleet: error: bad\n"


def test_rewrite_and_suggest() -> None:
    assert rewrite("argument -o/--output: expected one argument") == "--output needs a value"
    assert rewrite("argument --format: invalid choice: 'jsn' (choose from 'text', 'json')") == (
        "--format: 'jsn' is not a choice; choose from text, json (did you mean json?)"
    )
    assert suggest("--verbos", ["--verbose", "--db"]) == " (did you mean --verbose?)"
    assert suggest("--zzz", ["--verbose", "--db"]) == ""
