"""The pytest plugin (``pytest11`` entry point ``testfleet``).

``pytest --fleet N`` turns the pytest process into the controller of a fleet run: it does
not collect itself (a collector process does, once), it takes over ``pytest_runtestloop``
and re-emits every worker report through pytest's hooks. Inside the collector and the
workers (``TESTFLEET_ROLE`` set) the plugin only registers the marker and fixtures.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest

from testfleet.errors import UsageError
from testfleet.events import EventBus

STATE_KEY = pytest.StashKey["Any"]()
EVENTS_KEY = pytest.StashKey["EventBus"]()


def event_bus(config: pytest.Config) -> EventBus:
    """The run's event bus (testfleet.events), created on first use.

    The controller publishes on it; the terminal display, the store writer, CI output and the
    dashboard subscribe (in ``pytest_configure`` or later, before the run loop starts).
    """
    bus = config.stash.get(EVENTS_KEY, None)
    if bus is None:
        bus = config.stash[EVENTS_KEY] = EventBus()
    return bus


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from testfleet import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("testfleet", "testfleet: run the suite on a fleet of workers")
    g.addoption("--fleet", dest="fleet", metavar="N", default=None,
                help="run on N workers (a number or 'auto'); 'testfleet run' sets this")
    g.addoption("--fleet-timeout", dest="fleet_timeout", metavar="SECONDS", default=None,
                help="per-test timeout enforced by the controller (the worker is killed and replaced)")
    g.addoption("--fleet-report-json", dest="fleet_report_json", metavar="FILE", default=None,
                help="write the run as JSON to FILE")
    g.addoption("--fleet-db", dest="fleet_db", metavar="PATH", default=None,
                help="results store (default .testfleet/results.duckdb under the rootdir; 'none' to disable)")
    g.addoption("--fleet-start", dest="fleet_start", default=None, metavar="fork|spawn",
                help="fork workers from one collector (default) or spawn each (suites that are not fork-safe)")
    g.addoption("--fleet-retries", dest="fleet_retries", default=None, metavar="N",
                help="retry a failed, crashed or timed-out test up to N times")
    g.addoption("--fleet-backend", dest="fleet_backend", default=None, metavar="local|ray",
                help="where workers run: local processes (default) or a Ray cluster")
    g.addoption("--fleet-ray-address", dest="fleet_ray_address", default=None, metavar="ADDRESS",
                help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray instance)")
    g.addoption("--fleet-ray-exclude", dest="fleet_ray_exclude", action="append", default=None,
                metavar="PATTERN", help="exclude from the code shipped to Ray nodes (repeatable)")
    g.addoption("--fleet-ray-no-ship", dest="fleet_ray_no_ship", action="store_true", default=False,
                help="do not ship the project to Ray nodes (they share the filesystem)")
    g.addoption("--fleet-order", dest="fleet_order", default=None,
                metavar="collection|duration|failed-first|random[:seed]", help="dispatch order")
    g.addoption("--fleet-deadline", dest="fleet_deadline", default=None, metavar="DURATION",
                help="run the most valuable tests first and stop dispatching when the rest cannot fit")
    g.addoption("--fleet-tag", dest="fleet_tags", action="append", default=None, metavar="TAG",
                help="advertise a capability tag on every worker (repeatable)")
    g.addoption("--fleet-allow-unschedulable", dest="fleet_allow_unschedulable", action="store_true",
                default=False, help="unschedulable tests do not fail the run")
    g.addoption("--fleet-resume", dest="fleet_resume", default=None, metavar="RUN_ID|last",
                help="run only the tests of an interrupted run that have no final outcome")
    g.addoption("--fleet-gpu-isolation", dest="fleet_gpu_isolation", default=None, metavar="shared|exclusive",
                help="shared (default): every worker sees a GPU, marked tests reserve theirs; "
                     "exclusive: each worker its own GPUs, hidden from the others")
    g.addoption("--fleet-ci", dest="fleet_ci", default=None, metavar="auto|github|azure|none",
                help="annotate failures for a CI system (default auto: GitHub Actions or Azure Pipelines "
                     "when their environment says so)")


def _options(config: pytest.Config) -> dict[str, Any]:
    o = config.option
    return {
        "workers": None if o.fleet == "default" else o.fleet, "timeout": o.fleet_timeout, "report_json": o.fleet_report_json,
        "db": o.fleet_db, "start": o.fleet_start, "retries": o.fleet_retries, "backend": o.fleet_backend,
        "ray_address": o.fleet_ray_address, "ray_exclude": o.fleet_ray_exclude,
        "ray_no_ship": o.fleet_ray_no_ship, "order": o.fleet_order, "deadline": o.fleet_deadline,
        "tags": o.fleet_tags, "allow_unschedulable": o.fleet_allow_unschedulable or None,
        "resume": o.fleet_resume, "ci": o.fleet_ci, "gpu_isolation": o.fleet_gpu_isolation,
    }


def pytest_configure(config: pytest.Config) -> None:
    from testfleet.scheduler.constraints import MARKER_HELP

    config.addinivalue_line("markers", MARKER_HELP)
    try:
        from testfleet.testing import fixtures

        if not config.pluginmanager.is_registered(fixtures):
            config.pluginmanager.register(fixtures, "testfleet-fixtures")
    except ImportError:
        pass
    if os.environ.get("TESTFLEET_ROLE") or config.option.fleet is None:
        return
    if config.option.collectonly or getattr(config.option, "usepdb", False):
        return
    from testfleet import config as settings_mod
    from testfleet.run_state import RunState

    try:
        settings = settings_mod.build(_options(config), config.rootpath)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("--fleet and pytest-xdist's -n cannot be used together")
    try:
        state = RunState(config, settings)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(FleetPlugin(config, state), "testfleet-controller")
    # The controller freezes its heap as the run goes (controller.FREEZE_EVERY). Cleanups run
    # last-in first-out: registered now, before pytest's own plugins register theirs, the
    # unfreeze runs after pytest's end-of-session GC passes, which so skip the frozen heap.
    config.add_cleanup(gc.unfreeze)


class FleetPlugin:
    """Controller-side hooks of a fleet run."""

    def __init__(self, config: pytest.Config, state: Any) -> None:
        self.config = config
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        # The collector collects; the controller only checks that the paths exist, so a
        # typo is a usage error here, as in plain pytest.
        if not self.config.option.pyargs:
            for arg in self.config.args:
                path = Path(self.config.invocation_params.dir, str(arg).split("::", 1)[0])
                if not path.exists():
                    raise pytest.UsageError(f"file or directory not found: {arg}")
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        from testfleet.controller import CollectionFailed, Controller

        try:
            Controller(self.config, self.state.settings, self.state).run(session)
        except CollectionFailed as exc:
            log = exc.log.strip()
            if exc.exitcode == 4:
                errors = [ln for ln in log.splitlines() if ln.startswith("ERROR:")]
                raise pytest.UsageError((errors[-1][6:].strip() if errors else log) or "usage error") from None
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                tr.write_line(log)
            self.state.internal_error = f"testfleet: the collector failed (exit code {exc.exitcode})"
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> Any:
        # Called for every report of the run: plain reports leave at the first check.
        d = report.__dict__
        if "testfleet_outcome" not in d and "testfleet_flaky" not in d:
            return None
        from testfleet.outcomes import CONTROLLER_OUTCOMES

        special = d.get("testfleet_outcome")
        if special in CONTROLLER_OUTCOMES and report.when == "call":
            cat, letter, word = CONTROLLER_OUTCOMES[special]
            return cat, letter, (word, {"red": True})
        if d.get("testfleet_flaky", False) and report.when == "call" and report.passed:
            return "passed", ".", ("PASSED (flaky)", {"yellow": True})
        return None

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        from testfleet.report.summary import write_summary

        write_summary(terminalreporter, self.state)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Any:
        if self.state.internal_error:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        self.state.finish(int(session.exitstatus))
        yield

