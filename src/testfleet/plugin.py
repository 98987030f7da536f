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
from testfleet.stash import EVENTS_KEY, STATE_KEY, event_bus

__all__ = ["EVENTS_KEY", "STATE_KEY", "event_bus"]  # defined in testfleet.stash


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from testfleet import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    from testfleet.options import add_pytest_options

    add_pytest_options(parser.getgroup("testfleet", "testfleet: run the suite on a fleet of workers"))


def _options(config: pytest.Config) -> dict[str, Any]:
    from testfleet.options import pytest_values

    return pytest_values(config.option)


@pytest.hookimpl(tryfirst=True)
def pytest_itemcollected(item: pytest.Item) -> None:
    """``--pyargs`` in a fleet run (collector and workers): node ids as the package lays the
    test out (``flow/tests/test_x.py::test_a``), whatever rootdir the run started from, so the
    store's history and ``compare`` see the same test. The module's and class's ids follow."""
    if not item.config.option.pyargs or not os.environ.get("TESTFLEET_ROLE"):
        return
    from testfleet.nodeids import package_path

    old = item.nodeid.split("::", 1)[0]
    new = package_path(str(item.path))
    if new is None or new == old:
        return
    for node in item.listchain():
        nodeid = node.nodeid
        if nodeid == old or nodeid.startswith(old + "::"):
            _set_nodeid(node, new + nodeid[len(old) :])


def _set_nodeid(node: Any, nodeid: str) -> None:
    """pytest 9 keeps a structured ``_id``; pytest 8 the string ``_nodeid``."""
    if hasattr(node, "_id"):
        from _pytest.nodeid import coerce_node_id  # type: ignore[import-not-found, unused-ignore]

        node._id = coerce_node_id(nodeid)
    else:
        node._nodeid = nodeid


def pytest_configure(config: pytest.Config) -> None:
    from testfleet.scheduler.constraints import MARKER_HELP

    config.addinivalue_line("markers", MARKER_HELP)
    try:
        from testfleet.testing import fixtures

        if not config.pluginmanager.is_registered(fixtures):
            config.pluginmanager.register(fixtures, "testfleet-fixtures")
    except ImportError:
        pass
    if os.environ.get("TESTFLEET_ROLE"):
        from testfleet.compat import configure_child  # plugins in the collector/workers (compat/)

        configure_child(config)
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
    from testfleet.report import ci_session

    if ci_session.wanted(config, settings, os.environ):
        config.pluginmanager.register(ci_session.CISession(config, state), "testfleet-ci")
    if settings.dashboard is not None:
        from testfleet.dashboard.server import LiveDashboard

        try:
            dashboard = LiveDashboard(config, settings)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(dashboard, "testfleet-dashboard")
    from testfleet.compat import configure_controller  # plugins in the controller (compat/)

    configure_controller(config)
    # The controller freezes its heap as the run goes (controller.FREEZE_EVERY). Cleanups run
    # last-in first-out: registered now, before pytest's own plugins register theirs, the
    # unfreeze runs after pytest's end-of-session GC passes, which so skip the frozen heap.
    config.add_cleanup(gc.unfreeze)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--fleet-shard I/K``: keep this shard's items (only where the suite is collected: the
    collector, a worker that collects for itself, or a plain pytest run)."""
    if config.option.fleet_shard is None and not os.environ.get("TESTFLEET_SHARD"):
        return
    from testfleet import config as settings_mod
    from testfleet.shard import deselect

    try:
        deselect.apply(config, items, settings_mod.build(_options(config), config.rootpath))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


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
                raise pytest.UsageError(
                    (errors[-1][6:].strip() if errors else log) or "usage error"
                ) from None
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
        try:
            self.state.finish(int(session.exitstatus))
        except UsageError as exc:  # --report-json could not be written after all
            from testfleet.console import error_line

            error_line(str(exc))
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        path = getattr(self.state.store, "path", None)
        if path is not None and not self.state.store_error:
            from testfleet.store.locate import remember_last_store

            remember_last_store(path)  # read commands run elsewhere find this store
        yield
