"""End-to-end runs of real suites through ``testfleet run``: verdicts equal plain pytest's,
pytest's reporting keeps working, exit codes are pytest's, bad input is one clear line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from testfleet.testing import eventually

MIXED = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("setup exploded")

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown exploded")

def test_pass(): assert 1 + 1 == 2
def test_fail(): assert 1 + 1 == 3, "one plus one"
def test_setup_error(broken): pass
def test_teardown_error(bad_teardown): pass
@pytest.mark.skip(reason="not today")
def test_skip(): pass
@pytest.mark.xfail(reason="known bug")
def test_xfail(): assert False
@pytest.mark.xfail(reason="fixed already")
def test_xpass(): pass
@pytest.mark.parametrize("n", range(6))
def test_param(n): assert n < 6
"""


def plain_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:testfleet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verdicts_match_plain_pytest(fleet: Any) -> None:
    fleet.write("test_mixed.py", MIXED)
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 1
    assert run.report["counts"] == {
        "passed": 7,
        "failed": 1,
        "error": 2,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 1,
    }
    # pytest's own final line counts the teardown error on top of the passed call, as pytest does.
    plain = plain_pytest(fleet.root)
    plain_last = plain.stdout.strip().splitlines()[-1]
    fleet_last = run.out.strip().splitlines()[-1]
    strip = lambda line: line.split(" in ")[0].strip("= ")  # noqa: E731
    assert strip(fleet_last) == strip(plain_last)
    assert plain.returncode == run.code
    assert run.outcome("test_setup_error")["message"] == "RuntimeError: setup exploded"
    assert run.outcome("test_fail")["message"].startswith("AssertionError: one plus one")


SIGNAL_DISPOSITIONS = """
import signal, socket, pytest

def test_writing_to_a_closed_peer_raises_broken_pipe():
    # Python ignores SIGPIPE, so a write to a closed peer raises instead of killing the process:
    # network tests rely on it (a peer that went away is an error to handle, not a crash).
    a, b = socket.socketpair()
    b.close()
    with pytest.raises(BrokenPipeError):
        for _ in range(100):
            a.send(b"x" * 65536)

def test_sigpipe_is_ignored_as_python_sets_it():
    assert signal.getsignal(signal.SIGPIPE) is signal.SIG_IGN
"""


def test_signal_dispositions_are_plain_pythons_in_workers(fleet: Any) -> None:
    """Seen in `testfleet audit tests --run`: workers reset SIGPIPE to its default, so a test that
    wrote to a closed socket killed its worker (crashed) where plain pytest passes it."""
    fleet.write("test_signals.py", SIGNAL_DISPOSITIONS)
    plain = plain_pytest(fleet.root)
    assert plain.returncode == 0, plain.stdout
    run = fleet.run("-w", "2", "--db", "none")
    assert run.report["counts"] == {"passed": 2}, run.out
    assert run.code == 0


def test_module_level_skip_is_counted_like_plain_pytest(fleet: Any) -> None:
    fleet.write(
        "test_opt.py", "import pytest\npytest.importorskip('no_such_module_here')\ndef test_never(): pass\n"
    )
    fleet.write("test_ok.py", "def test_ok(): pass\n")
    run = fleet.run("-w", "2", "--db", "none")
    plain = plain_pytest(fleet.root)
    assert run.code == plain.returncode == 0
    assert (
        run.out.strip().splitlines()[-1].split(" in ")[0]
        == plain.stdout.strip().splitlines()[-1].split(" in ")[0]
    )
    assert "1 passed, 1 skipped" in run.out.strip().splitlines()[-1]


def test_junitxml_durations_and_ra_keep_working(fleet: Any) -> None:
    fleet.write("test_mixed.py", MIXED)
    run = fleet.run("-w", "2", "--db", "none", "--junitxml", "junit.xml", "-rA", "--durations", "3")
    tree = ET.parse(fleet.root / "junit.xml").getroot()
    suite = tree if tree.tag == "testsuite" else tree.find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) == 13
    assert int(suite.get("failures", "0")) == 1
    assert int(suite.get("errors", "0")) == 2
    assert int(suite.get("skipped", "0")) == 2  # skip + xfail, as pytest counts them
    assert "slowest 3 durations" in run.out
    assert "PASSED test_mixed.py::test_pass" in run.out
    assert "FAILED test_mixed.py::test_fail - AssertionError: one plus one" in run.out


def test_maxfail_stops_dispatch_and_lists_not_run(fleet: Any) -> None:
    fleet.write(
        "test_x.py",
        "import pytest\n@pytest.mark.parametrize('n', range(40))\ndef test_n(n):\n    assert n != 3\n",
    )
    run = fleet.run("-w", "1", "--db", "none", "-x")
    assert run.code == 1
    # As plain pytest: nothing after the first failure runs, even what the worker held.
    assert run.report["counts"] == {"passed": 3, "failed": 1, "not_run": 36}
    assert "stopping after 1 failures" in run.out


# A module-scoped fixture that logs its set-up and teardown to fixture.log.
LOGGED_MODULE_FIXTURE = """
import os, time, pytest
LOG = os.path.join(os.path.dirname(__file__), "fixture.log")

@pytest.fixture(scope="module")
def resource():
    with open(LOG, "a") as fh:
        fh.write("setup\\n")
    yield 1
    with open(LOG, "a") as fh:
        fh.write("teardown\\n")
"""


def test_a_worker_stopped_by_maxfail_still_tears_down_module_fixtures(fleet: Any) -> None:
    fleet.write(
        "test_mod.py",
        LOGGED_MODULE_FIXTURE
        + """
@pytest.mark.parametrize("n", range(20))
def test_uses(resource, n):
    assert n != 5
""",
    )
    run = fleet.run("-w", "1", "--db", "none", "--maxfail", "1")
    assert run.code == 1
    assert run.report["counts"] == {"passed": 5, "failed": 1, "not_run": 14}
    assert (fleet.root / "fixture.log").read_text().split() == ["setup", "teardown"]


def test_a_worker_halted_by_another_workers_failure_tears_down_its_fixtures(fleet: Any) -> None:
    fleet.write(
        "test_b.py",
        LOGGED_MODULE_FIXTURE
        + """
@pytest.mark.parametrize("n", range(30))
def test_slow(resource, n):
    time.sleep(0.2)
""",
    )
    fleet.write(
        "test_a.py",
        """
import os, time
LOG = os.path.join(os.path.dirname(__file__), "fixture.log")

def test_fails_once_the_other_module_runs():
    deadline = time.monotonic() + 20
    while not os.path.exists(LOG) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert False
""",
    )
    run = fleet.run("-w", "2", "--db", "none", "-x")
    assert run.code == 1
    counts = run.report["counts"]
    assert counts["failed"] == 1
    assert counts["not_run"] >= 10 and sum(counts.values()) == 31
    assert (fleet.root / "fixture.log").read_text().split() == ["setup", "teardown"]


def test_module_and_class_fixtures_are_set_up_once_per_worker(fleet: Any) -> None:
    fleet.write(
        "test_scoped.py",
        """
import os, pytest
LOG = os.path.join(os.path.dirname(__file__), "setups.log")

@pytest.fixture(scope="module")
def resource():
    with open(LOG, "a") as fh:
        fh.write(f"setup {os.getpid()}\\n")
    yield 1
    with open(LOG, "a") as fh:
        fh.write(f"teardown {os.getpid()}\\n")

@pytest.mark.parametrize("n", range(30))
def test_uses(resource, n):
    assert resource == 1
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 0
    lines = (fleet.root / "setups.log").read_text().splitlines()
    setups = [ln for ln in lines if ln.startswith("setup")]
    teardowns = [ln for ln in lines if ln.startswith("teardown")]
    # Each worker that ran tests set the module fixture up once and tore it down once.
    assert 1 <= len(setups) <= 2
    assert sorted(s.split()[1] for s in setups) == sorted(t.split()[1] for t in teardowns)


def test_replacement_worker_is_forked_without_recollecting(fleet: Any) -> None:
    fleet.write(
        "conftest.py",
        """
import os
import shutil
def pytest_configure(config):
    with open(os.path.join(str(config.rootpath), "configured.log"), "a") as fh:
        fh.write(f"{os.getpid()}\\n")
""",
    )
    fleet.write(
        "test_die.py",
        "import os\ndef test_die_1(): os._exit(1)\ndef test_die_2(): os._exit(1)\ndef test_ok(): pass\n",
    )
    run = fleet.run("-w", "1", "--db", "none")
    assert run.report["counts"] == {"passed": 1, "crashed": 2}
    pids = (fleet.root / "configured.log").read_text().split()
    assert len(pids) == 2  # the controller and the collector; the three workers were forks
    assert len(run.report["replacements"]) == 2
    assert all(r["seconds"] < 5 for r in run.report["replacements"])


def test_spawn_mode_runs_each_worker_from_its_own_collection(fleet: Any) -> None:
    fleet.write("test_mixed.py", MIXED)
    run = fleet.run("-w", "2", "--db", "none", "--start", "spawn")
    assert run.code == 1
    assert run.report["counts"] == {
        "passed": 7,
        "failed": 1,
        "error": 2,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 1,
    }


def test_spawn_mode_detects_a_collection_that_differs(fleet: Any) -> None:
    fleet.write(
        "test_random.py",
        "import random\nimport pytest\n"
        "@pytest.mark.parametrize('n', random.sample(range(10**6), 5))\n"
        "def test_n(n): pass\n",
    )
    run = fleet.run("-w", "2", "--db", "none", "--start", "spawn")
    assert run.code == 3
    assert "collected a different set of tests" in run.out


def test_collection_error_is_reported_like_pytest(fleet: Any) -> None:
    fleet.write("test_ok.py", "def test_ok(): pass\n")
    fleet.write("test_broken.py", "def test_x(:\n")
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 2
    assert "ERROR collecting test_broken.py" in run.out
    assert "SyntaxError" in run.out
    assert "Interrupted: 1 error during collection" in run.out


def test_no_tests_is_exit_code_5(fleet: Any) -> None:
    fleet.write("test_none.py", "x = 1\n")
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-w", "0"], "-w: '0' is not a positive whole number or 'auto'"),  # the name typed
        (["--workers", "abc"], "--workers: 'abc' is not a positive whole number or 'auto'"),
        (["--timeout", "soon"], "--timeout: 'soon' is not a number of seconds"),
        (["no_such_dir"], "file or directory not found: no_such_dir"),
        (["--no-such-option"], "testfleet: error: unrecognized option --no-such-option"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_4(fleet: Any, args: list[str], message: str) -> None:
    fleet.write("test_ok.py", "def test_ok(): pass\n")
    run = fleet.run(*args, "--db", "none")
    assert run.code == 4
    assert message in run.err
    # The whole message stands on one line; no traceback.
    assert [ln for ln in run.err.splitlines() if message in ln]
    assert "Traceback" not in run.err and "INTERNALERROR" not in run.out


def test_pytest_fleet_option_runs_the_same_way(fleet: Any) -> None:
    fleet.write("test_mixed.py", MIXED)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--fleet", "2", "--fleet-db", "none"],
        cwd=fleet.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert (
        "testfleet: 13 collected: 7 passed, 1 failed, 2 error, 1 skipped, 1 xfailed, 1 xpassed" in proc.stdout
    )


def test_report_json_has_the_documented_fields(fleet: Any) -> None:
    fleet.write("test_mixed.py", MIXED)
    run = fleet.run("-w", "2", "--db", "none")
    rep = run.report
    assert {"run_id", "exit_code", "collected", "counts", "tests"} <= set(rep)
    assert rep["exit_code"] == 1 and rep["collected"] == 13
    t = run.outcome("test_pass")
    assert set(t) >= {"nodeid", "outcome", "duration", "worker", "attempts", "message"}
    assert t["worker"] in {"w0", "w1"} and t["attempts"] == 1
    assert all(w["peak_rss_kb"] > 0 for w in rep["workers"])
    # CPU seconds: each worker's own (a forked worker's count starts at its fork), and the
    # controller's, which at least imported pytest and ran the loop.
    assert all(0 < w["cpu_seconds"] < 60 for w in rep["workers"])
    assert rep["controller_cpu_seconds"] > 0


def _wait_for(path: Path, deadline: float) -> None:
    eventually(path.exists, timeout=deadline, interval=0.02, message=f"{path} appears")


def test_ctrl_c_once_lets_running_tests_finish_and_exits_2(fleet: Any) -> None:
    fleet.write(
        "test_slow.py",
        """
import os, time, pytest
HERE = os.path.dirname(__file__)
@pytest.mark.parametrize("n", range(20))
def test_slow(n):
    open(os.path.join(HERE, f"started-{n}"), "w").close()
    time.sleep(1.0)
""",
    )
    report = fleet.root / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--db", "none", "--report-json", str(report)],
        cwd=fleet.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(fleet.root / "started-0", 30)
    proc.send_signal(signal.SIGINT)
    out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    import json

    data = json.loads(report.read_text())
    counts = data["counts"]
    assert counts["passed"] >= 1  # the tests running at Ctrl-C finished
    assert counts["not_run"] >= 10
    assert sum(counts.values()) == 20
    assert "tests not run" in out
    started = len(list(fleet.root.glob("started-*")))
    assert started == counts["passed"]


def test_ctrl_c_twice_kills_the_workers(fleet: Any) -> None:
    fleet.write(
        "test_hang.py",
        """
import os, time
HERE = os.path.dirname(__file__)
def test_hang_a():
    open(os.path.join(HERE, "started-a"), "w").close()
    time.sleep(120)
def test_hang_b():
    time.sleep(120)
""",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "testfleet", "run", "-w", "2", "--db", "none"],
        cwd=fleet.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(fleet.root / "started-a", 30)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # two distinct key presses
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    out, _err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 20
    assert proc.returncode == 2
    assert "2 not_run" in out


def test_env_vars_and_ports_are_given_to_each_worker(fleet: Any) -> None:
    fleet.write(
        "test_env.py",
        """
import os, pytest
@pytest.mark.parametrize("n", range(8))
def test_env(n):
    wid = os.environ["TESTFLEET_WORKER"]
    base = int(os.environ["TESTFLEET_PORT_BASE"]); count = int(os.environ["TESTFLEET_PORT_COUNT"])
    slot = int(wid[1:])
    assert os.environ["TESTFLEET_WORKERS"] == "2"
    assert base == 40000 + slot * count
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 0, run.out
    assert run.report["counts"] == {"passed": 8}


def test_unwritable_store_still_runs_and_says_so(fleet: Any) -> None:
    fleet.write("test_ok.py", "def test_ok(): pass\n")
    (fleet.root / "blocker").write_text("a file where a directory should be")
    run = fleet.run("-w", "1", "--db", str(fleet.root / "blocker" / "results.duckdb"))
    assert run.code == 0
    assert run.report["counts"] == {"passed": 1}
    assert "results not stored:" in run.out


def test_env_is_left_clean(fleet: Any) -> None:
    # The controller does not leak its spec into the environment of later subprocesses.
    fleet.write("test_ok.py", "def test_ok(): pass\n")
    run = fleet.run("-w", "1", "--db", "none")
    assert run.code == 0
    assert "TESTFLEET_SPEC" not in os.environ


@pytest.mark.skipif(not shutil.which("script"), reason="needs util-linux's script for a pseudo-terminal")
def test_tty_shows_live_progress_with_workers_current_tests(fleet: Any) -> None:
    fleet.write(
        "test_slow.py",
        "import time, pytest\n@pytest.mark.parametrize('n', range(6))\ndef test_slow(n): time.sleep(0.4)\n",
    )
    cmd = f"{sys.executable} -m testfleet run -w 2 --db none"
    proc = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        cwd=fleet.root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stdout
    assert "testfleet: 0/6 done" in proc.stdout or "/6 done (" in proc.stdout
    assert "w0: test_slow.py::test_slow[" in proc.stdout or "w1: test_slow.py::test_slow[" in proc.stdout
    assert "6 passed" in proc.stdout


def test_plugins_see_deselected_items_with_their_node_ids(fleet: Any) -> None:
    # A plugin that reads every reported object (hypothesis's terminal summary does) must not
    # meet placeholders: it gets one object per deselected test, with its node id.
    fleet.write(
        "conftest.py",
        """
def pytest_terminal_summary(terminalreporter):
    for rep in terminalreporter.stats.get("deselected", []):
        terminalreporter.write_line(f"deselected: {rep.nodeid} {sorted(vars(rep))}")
""",
    )
    fleet.write("test_k.py", "def test_keep():\n    pass\ndef test_drop():\n    pass\n")
    run = fleet.run("-w", "2", "--db", "none", "-k", "keep")
    assert run.code == 0, run.out
    assert "deselected: test_k.py::test_drop ['nodeid']" in run.out
    assert "1 passed, 1 deselected" in run.out
    none_left = fleet.run("-w", "2", "--db", "none", "-k", "nothing_matches")
    assert none_left.code == 5 and "Traceback" not in none_left.out + none_left.err


def test_failures_are_annotated_for_github_actions(fleet: Any) -> None:
    fleet.write(
        "tests/test_ci.py",
        "import os\n\ndef test_ok():\n    pass\n\n"
        "def test_bad():\n    assert 1 == 2, 'numbers differ'\n\n"
        "def test_dies():\n    os._exit(3)\n",
    )
    run = fleet.run("-w", "2", "--db", "none", "--junitxml", "junit.xml", env={"GITHUB_ACTIONS": "true"})
    assert run.code == 1
    # GitLab and Jenkins read JUnit XML: the crash is a failure there, with its text.
    crashed = [
        case
        for case in ET.parse(fleet.root / "junit.xml").getroot().iter("testcase")
        if case.get("name") == "test_dies"
    ]
    assert len(crashed) == 1 and crashed[0].find("failure") is not None
    assert "exited with code 3" in (crashed[0].find("failure").text or "")  # type: ignore[union-attr]
    lines = [ln for ln in run.out.splitlines() if ln.startswith("::error ")]
    assert len(lines) == 2, run.out
    # Most important first: both are new (no history), and a crash ranks before an assertion.
    assert lines[1] == (
        "::error file=tests/test_ci.py,line=6,title=failed%3A tests/test_ci.py%3A%3Atest_bad"
        "::AssertionError: numbers differ"
    )
    assert lines[0].startswith(
        "::error file=tests/test_ci.py,line=9,title=crashed%3A "
        "tests/test_ci.py%3A%3Atest_dies::Crashed: worker w"
    )
    assert lines[0].endswith("exited with code 3 while running this test.")
    quiet = fleet.run("-w", "2", "--db", "none", "--ci", "none", env={"GITHUB_ACTIONS": "true"})
    assert not any(ln.startswith("::error") for ln in quiet.out.splitlines())
    bad = fleet.run("-w", "2", "--ci", "jenkins")
    assert bad.code == 4 and "--ci: 'jenkins' is not one of auto, github, azure, none" in bad.err
