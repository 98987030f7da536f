"""The rest of the compatibility matrix (docs/plugins.md): each plugin's main feature on a
small suite, under plain pytest and ``testfleet run -w 2``, comparing what the plugin
produces (its outcomes, messages, files), not only the exit code."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

from _suite import Result, Suite, need


def assert_same_summary(plain: Result, fleet: Result, expected: str) -> None:
    assert plain.summary == expected, plain.out
    assert fleet.summary == expected, fleet.out


def test_timeout_after_double_dash_reaches_pytest_timeout(suite: Suite) -> None:
    need("pytest_timeout")
    suite.write(
        "test_t.py", "import time\n\ndef test_quick():\n    pass\n\ndef test_hangs():\n    time.sleep(30)\n"
    )
    plain = suite.plain("-p", "pytest_timeout", "--timeout=1")
    fleet = suite.fleet(
        "-p", "pytest_timeout", "--", "--timeout=1"
    )  # `testfleet run --timeout` is testfleet's
    assert_same_summary(plain, fleet, "1 failed, 1 passed")
    for result in (plain, fleet):
        result.expect_line(r"^E\s+Failed: Timeout \(>1\.0s\) from pytest-timeout\.")
    assert "testfleet: crashed, timed-out" not in fleet.out  # pytest-timeout's verdict, not testfleet's
    helptext = suite.run(sys.executable, "-m", "testfleet", "run", "--help")
    # The help is wrapped to the terminal's width: read it as one line of words.
    words = " ".join(helptext.out.split())
    assert "--timeout SECONDS per-test timeout, enforced by the controller (the worker is killed" in words
    assert (
        "testfleet's own option: pytest-timeout's --timeout goes after --: testfleet run -- --timeout 5"
        in words
    )


def test_rerunfailures_reruns_and_reports_reruns(suite: Suite) -> None:
    need("pytest_rerunfailures")
    suite.write(
        "test_flaky.py",
        """
import os

def test_flaky(tmp_path_factory):
    marker = os.path.join(os.environ["STATE_DIR"], "seen")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise AssertionError("first attempt fails")

def test_always_fails():
    assert 1 == 2
""",
    )
    results = []
    for run in ("plain", "fleet"):
        state = suite.root / run
        state.mkdir()
        args = ("-p", "pytest_rerunfailures", "--reruns", "2", "-rR")
        env = {"STATE_DIR": str(state)}
        results.append(suite.plain(*args, env=env) if run == "plain" else suite.fleet(*args, env=env))
    plain, fleet = results
    assert_same_summary(plain, fleet, "1 failed, 1 passed, 3 rerun")
    for result in (plain, fleet):
        result.expect_line(r"^RERUN test_flaky.py::test_flaky")
        result.expect_line(r"^FAILED test_flaky.py::test_always_fails$")
        result.expect_line(r"^E\s+assert 1 == 2$")


def test_asyncio_runs_coroutines_and_async_fixtures(suite: Suite) -> None:
    need("pytest_asyncio")
    suite.write(
        "pytest.ini", "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    suite.write(
        "test_async.py",
        """
import asyncio
import pytest

@pytest.fixture
async def value():
    await asyncio.sleep(0)
    return 41

async def test_fixture(value):
    assert value + 1 == 42

async def test_gather():
    assert await asyncio.gather(asyncio.sleep(0, 1), asyncio.sleep(0, 2)) == [1, 2]

async def test_fails():
    await asyncio.sleep(0)
    assert "loop" == "no loop"
""",
    )
    plain, fleet = suite.plain("-p", "pytest_asyncio.plugin"), suite.fleet("-p", "pytest_asyncio.plugin")
    assert_same_summary(plain, fleet, "1 failed, 2 passed")
    for result in (plain, fleet):
        result.expect_line(r"^FAILED test_async.py::test_fails - AssertionError: assert 'loop' == 'no loop'")


def _falsifying(result: Result) -> list[str]:
    """The minimal failing examples hypothesis reports, e.g. ``test_small(n=1000)``, read from the
    failure sections only: the short summary may repeat the message (pytest prints it whole when
    the output is not a terminal)."""
    failures = result.out.split("short test summary info", 1)[0]
    text = re.sub(r"^E?\s+", "", failures, flags=re.M)
    found = re.findall(
        r"^(?:Falsifying example|Failing test case): (test_\w+)\(\n((?:\w+=.*,\n)*)\)", text, re.M
    )
    return [f"{name}({body.strip().rstrip(',')})" for name, body in found]


def test_hypothesis_finds_and_shrinks_the_same_example(suite: Suite) -> None:
    need("hypothesis")
    suite.write(
        "test_prop.py",
        """
from hypothesis import given, settings, strategies as st

@settings(database=None)
@given(st.integers())
def test_small(n):
    assert n < 1000

@settings(database=None)
@given(st.lists(st.integers()))
def test_sorted_twice(xs):
    assert sorted(sorted(xs)) == sorted(xs)
""",
    )
    args = ("-p", "_hypothesis_pytestplugin", "--hypothesis-seed=0")
    plain, fleet = suite.plain(*args), suite.fleet(*args)
    assert_same_summary(plain, fleet, "1 failed, 1 passed")
    assert _falsifying(plain) == ["test_small(n=1000)"], plain.out
    assert _falsifying(fleet) == _falsifying(plain), fleet.out


def _html_results(path: Path) -> dict[str, list[str]]:
    blob = re.search(r'data-jsonblob="([^"]*)"', path.read_text())
    assert blob, path
    tests = json.loads(html.unescape(blob[1]))["tests"]
    return {nodeid: sorted(r["result"] for r in runs) for nodeid, runs in tests.items()}


SMALL = (
    "import pytest\n\ndef test_ok():\n    pass\n\ndef test_bad():\n    assert 0\n\n"
    "@pytest.mark.skip(reason='not today')\ndef test_skip():\n    pass\n"
)


def test_html_report_lists_the_same_results(suite: Suite) -> None:
    need("pytest_html")
    suite.write("test_h.py", SMALL)
    args = ("-p", "pytest_metadata.plugin", "-p", "pytest_html.plugin", "--self-contained-html")
    plain = suite.plain(*args, "--html=plain.html")
    fleet = suite.fleet(*args, "--html=fleet.html")
    assert_same_summary(plain, fleet, "1 failed, 1 passed, 1 skipped")
    expected = {
        "test_h.py::test_ok": ["Passed"],
        "test_h.py::test_bad": ["Failed"],
        "test_h.py::test_skip": ["Skipped"],
    }
    assert _html_results(suite.root / "plain.html") == expected
    assert _html_results(suite.root / "fleet.html") == expected


def _allure_results(directory: Path) -> dict[str, str]:
    out = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text())
        out[data["fullName"]] = data["status"]
    return out


def test_allure_writes_one_result_per_test(suite: Suite) -> None:
    need("allure_pytest")
    suite.write("test_h.py", SMALL)
    plain = suite.plain("-p", "allure_pytest.plugin", "--alluredir=plain-allure")
    fleet = suite.fleet("-p", "allure_pytest.plugin", "--alluredir=fleet-allure")
    assert_same_summary(plain, fleet, "1 failed, 1 passed, 1 skipped")
    expected = {"test_h#test_ok": "passed", "test_h#test_bad": "failed", "test_h#test_skip": "skipped"}
    assert _allure_results(suite.root / "plain-allure") == expected
    assert _allure_results(suite.root / "fleet-allure") == expected


def test_mock_fixture_and_its_assertion_messages(suite: Suite) -> None:
    need("pytest_mock")
    suite.write(
        "test_m.py",
        """
import os

def test_patched(mocker):
    mocker.patch("os.getcwd", return_value="/nowhere")
    assert os.getcwd() == "/nowhere"

def test_spy_called_wrong(mocker):
    spy = mocker.spy(os.path, "join")
    os.path.join("a", "b")
    spy.assert_called_once_with("a", "c")
""",
    )
    plain, fleet = suite.plain("-p", "pytest_mock"), suite.fleet("-p", "pytest_mock")
    assert_same_summary(plain, fleet, "1 failed, 1 passed")
    for result in (plain, fleet):
        result.expect_line(r"^E\s+AssertionError: expected call not found\.")
        result.expect_line(r"^E\s+Expected: join\('a', 'c'\)")


def test_env_sets_variables_from_the_ini_file(suite: Suite) -> None:
    need("pytest_env")
    suite.write("pytest.ini", "[pytest]\nenv =\n    FLEET_COLOR=blue\n    D:FLEET_DEFAULT=kept\n")
    suite.write(
        "test_e.py",
        """
import os

def test_color():
    assert os.environ["FLEET_COLOR"] == "blue"

def test_default():
    assert os.environ["FLEET_DEFAULT"] == "given"
""",
    )
    env = {"FLEET_DEFAULT": "given"}  # D: keeps a value the environment already has
    plain, fleet = (
        suite.plain("-p", "pytest_env.plugin", env=env),
        suite.fleet("-p", "pytest_env.plugin", env=env),
    )
    assert_same_summary(plain, fleet, "2 passed")


def test_dependency_passes_dependants_across_workers_and_skips_after_a_failure(suite: Suite) -> None:
    """Issue 13 point 8: pytest-dependency's own check skipped a dependant whose dependency
    passed on another worker (plain pytest passes it); a failed dependency still skips."""
    need("pytest_dependency")
    suite.write(
        "test_dep.py",
        """
import time, pytest

@pytest.mark.dependency(name="base")
def test_base():
    time.sleep(0.3)

@pytest.mark.dependency(depends=["base"])
@pytest.mark.parametrize("n", range(8))
def test_uses_base(n):
    time.sleep(0.1)

@pytest.mark.dependency(name="broken")
def test_broken():
    assert 1 == 2

@pytest.mark.dependency(depends=["broken"])
def test_uses_broken():
    pass
""",
    )
    plain = suite.plain("-p", "dependency", "-rs")
    fleet = suite.fleet("-p", "dependency", "-rs", "--report-json", "r.json")
    assert_same_summary(plain, fleet, "1 failed, 9 passed, 1 skipped")
    for result in (plain, fleet):
        result.expect_line(r"^SKIPPED \[1\] \S+: .*depends on .*broken")  # each in its own words
    tests = json.loads((suite.root / "r.json").read_text(encoding="utf-8"))["tests"]
    # the dependants ran on both workers, and passed there
    dependants = [t for t in tests if "test_uses_base" in t["nodeid"]]
    assert {t["outcome"] for t in dependants} == {"passed"}, dependants
    assert len({t["worker"] for t in dependants}) == 2, dependants
