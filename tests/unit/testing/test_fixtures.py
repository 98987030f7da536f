from __future__ import annotations

import pytest

# The core plugin (entry point "testfleet") is disabled in the inner runs: this tests the fixture
# module alone, enabled with -p exactly as a user without testfleet would.
PLUGIN_ARGS = ("-p", "no:testfleet", "-p", "testfleet.testing.fixtures")


def test_fixtures_read_the_workers_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTFLEET_WORKER", "w2")
    monkeypatch.setenv("TESTFLEET_WORKERS", "4")
    monkeypatch.setenv("TESTFLEET_PORT_BASE", "43100")
    monkeypatch.setenv("TESTFLEET_PORT_COUNT", "50")
    pytester.makepyfile(
        """
        def test_worker(fleet_worker):
            assert fleet_worker.id == "w2"
            assert fleet_worker.count == 4
            assert fleet_worker.index == 2

        def test_ports(fleet_ports):
            assert (fleet_ports.base, fleet_ports.count) == (43100, 50)
            port = fleet_ports.free_port()
            assert 43100 <= port < 43150

        def test_ports_are_one_session_object(fleet_ports):
            # session scope: the cursor moved on in test_ports, so this port differs
            assert fleet_ports.free_port() != 43100
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=3)


def test_fixtures_outside_testfleet(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TESTFLEET_WORKER", "TESTFLEET_WORKERS", "TESTFLEET_PORT_BASE", "TESTFLEET_PORT_COUNT"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(
        """
        import socket

        def test_local(fleet_worker, fleet_ports):
            assert fleet_worker.id == "local" and not fleet_worker.in_fleet
            port = fleet_ports.free_port()
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        """
    )
    pytester.runpytest(*PLUGIN_ARGS).assert_outcomes(passed=1)


def test_a_wrong_expectation_fails(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTFLEET_WORKER", "w0")
    monkeypatch.setenv("TESTFLEET_WORKERS", "2")
    pytester.makepyfile(
        """
        def test_wrong(fleet_worker):
            assert fleet_worker.count == 3
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 2 == 3*"])


def test_without_the_plugin_the_fixtures_do_not_exist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(fleet_ports):\n    pass\n")
    result = pytester.runpytest("-p", "no:testfleet")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'fleet_ports' not found*"])


def test_importing_the_plugin_is_cheap(pytester: pytest.Pytester) -> None:
    # a fresh interpreter: which modules does importing the fixtures pull in?
    result = pytester.run(
        __import__("sys").executable,
        "-c",
        "import sys, testfleet.testing.fixtures; "
        "heavy = [m for m in ('multiprocessing', 'asyncio', 'testfleet.testing.cluster', "
        "'testfleet.testing.faults', 'testfleet.testing.linearizability', 'duckdb', 'rich') if m in sys.modules]; "
        "print('HEAVY', heavy)",
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["HEAVY []"])
