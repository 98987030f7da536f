"""The report hooks called without pluggy's per-call machinery (controller/hookcall.py) call
the same implementations in the same order with the same result as pluggy, and step aside
for what they do not handle (wrappers, tracing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pluggy
import pytest
from _pytest.config import PytestPluginManager

from testfleet.controller.hookcall import ReportHooks

hookimpl = pluggy.HookimplMarker("pytest")


def manager(*plugins: Any) -> tuple[Any, PytestPluginManager]:
    pm = PytestPluginManager()  # pytest's hook specifications, no plugins
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=f"p{i}")
    return SimpleNamespace(hook=pm.hook, pluginmanager=pm), pm


class Recorder:
    def __init__(self, name: str, log: list[Any], status: Any = None) -> None:
        self.name, self.log, self.status = name, log, status

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.log.append((self.name, "report", report))

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.log.append((self.name, "start", nodeid, location))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:  # a subset of the arguments
        self.log.append((self.name, "finish", nodeid))

    def pytest_report_teststatus(self, report: Any, config: Any) -> Any:
        self.log.append((self.name, "status"))
        return self.status


class First(Recorder):
    @hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: Any) -> None:
        self.log.append((self.name, "report", report))


class Last(Recorder):
    @hookimpl(trylast=True)
    def pytest_runtest_logreport(self) -> None:  # takes no argument at all
        self.log.append((self.name, "report"))


def both_ways(*make: Any) -> tuple[list[Any], list[Any]]:
    """The same calls through pluggy and through ReportHooks, each with fresh plugins."""
    logs: list[list[Any]] = []
    for direct in (False, True):
        log: list[Any] = []
        config, pm = manager(*(m(log) for m in make))
        if direct:
            hooks = ReportHooks(config)
            assert hooks.logreport.plain is not None  # else this compares pluggy with itself
            hooks.logstart.node("t.py::a", ("t.py", 1, "a"))
            hooks.logreport.report("R")  # type: ignore[arg-type]
            hooks.logfinish.node("t.py::a", ("t.py", 1, "a"))
        else:
            pm.hook.pytest_runtest_logstart(nodeid="t.py::a", location=("t.py", 1, "a"))
            pm.hook.pytest_runtest_logreport(report="R")
            pm.hook.pytest_runtest_logfinish(nodeid="t.py::a", location=("t.py", 1, "a"))
        logs.append(log)
    return logs[0], logs[1]


def test_same_implementations_in_the_same_order_with_the_same_arguments() -> None:
    through_pluggy, direct = both_ways(
        lambda log: Last("last", log),
        lambda log: Recorder("a", log),
        lambda log: First("first", log),
        lambda log: Recorder("b", log),
    )
    assert direct == through_pluggy
    assert [e[0] for e in direct if e[1] == "report"] == ["first", "b", "a", "last"]


def test_an_exception_in_an_implementation_gets_through() -> None:
    class Boom:
        def pytest_runtest_logreport(self, report: Any) -> None:
            raise RuntimeError("boom")

    config, _ = manager(Boom())
    with pytest.raises(RuntimeError, match="boom"):
        ReportHooks(config).logreport.report("R")  # type: ignore[arg-type]


def test_a_wrapper_or_tracing_goes_through_pluggy() -> None:
    log: list[Any] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def pytest_runtest_logreport(self, report: Any) -> Any:
            log.append("before")
            result = yield
            log.append("after")
            return result

    config, pm = manager(Wrapper(), Recorder("a", log))
    hooks = ReportHooks(config)
    assert hooks.logreport.plain is None and hooks.logstart.plain is not None
    hooks.logreport.report("R")  # type: ignore[arg-type]
    assert log == ["before", ("a", "report", "R"), "after"]

    config, pm = manager(Recorder("b", log))
    undo = pm.add_hookcall_monitoring(lambda *a: None, lambda *a: None)
    hooks = ReportHooks(config)
    assert hooks.logreport.plain is None  # monitoring (as --debug installs) sees every call
    undo()
    hooks.refresh()
    assert hooks.logreport.plain is not None


def test_a_plugin_registered_later_is_seen_from_the_next_refresh() -> None:
    log: list[Any] = []
    config, pm = manager(Recorder("a", log))
    hooks = ReportHooks(config)
    pm.register(Recorder("late", log), name="late")
    hooks.refresh()
    hooks.logreport.report("R")  # type: ignore[arg-type]
    assert [e[0] for e in log] == ["late", "a"]


def test_teststatus_stands_in_while_installed_and_answers_as_pluggy() -> None:
    log: list[Any] = []
    config, pm = manager(Recorder("none", log), Recorder("answer", log, ("passed", ".", "PASSED")))
    expected = pm.hook.pytest_report_teststatus(report="R", config=config)
    original = pm.hook.pytest_report_teststatus
    hooks = ReportHooks(config)
    hooks.install()
    assert pm.hook.pytest_report_teststatus is not original
    log.clear()
    assert (
        pm.hook.pytest_report_teststatus(report="R", config=config) == expected == ("passed", ".", "PASSED")
    )
    assert log == [("answer", "status")]  # firstresult: the later-registered one answered first
    assert pm.hook.pytest_report_teststatus.get_hookimpls() == original.get_hookimpls()
    hooks.uninstall()
    assert pm.hook.pytest_report_teststatus is original
