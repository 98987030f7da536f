"""The per-test report hooks, called the way pluggy calls them but without its per-call
machinery.

The controller re-emits every settled test through ``pytest_runtest_logstart``, three
``pytest_runtest_logreport`` and ``pytest_runtest_logfinish``, as a plain run would. Through
pluggy each call builds argument lists, a result list and a try/finally for wrappers: on a
suite of tiny tests that was a quarter of the controller's time per test. For a hook whose
implementations are all plain (no ``wrapper``/``hookwrapper``, no keyword-only extras) and
with no tracing or monitoring installed (``--debug``), :class:`ReportHook` calls the
implementations itself: in pluggy's order (the reverse of its list), each with the
arguments it names, letting an exception through as pluggy does. Anything else goes through
pluggy unchanged.

The implementations are looked up again by :meth:`ReportHook.refresh`, once per loop round:
a plugin registered or unregistered between rounds is seen from the next round on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

# What each hook passes, by name; an implementation takes any subset, by name.
_ARGS = {
    "pytest_runtest_logstart": ("nodeid", "location"),
    "pytest_runtest_logreport": ("report",),
    "pytest_runtest_logfinish": ("nodeid", "location"),
}


def _default_hookexec() -> Any:
    for where in ("pluggy._execution", "pluggy._callers"):  # newer pluggy, older pluggy
        try:
            module = __import__(where, fromlist=["_multicall"])
        except ImportError:
            continue
        return getattr(module, "_multicall", None)
    return None  # a pluggy without it: always go through pluggy


def _impls(caller: Any) -> list[Any]:
    """A hook's implementations as pluggy holds them (no copy where it can be read)."""
    impls = getattr(caller, "_hookimpls", None)
    return impls if isinstance(impls, list) else list(caller.get_hookimpls())


def _seen(caller: Any, pm: Any) -> tuple[list[Any], Any]:
    """What decides how a hook is called: its implementations and pluggy's call function."""
    return _impls(caller), getattr(pm, "_inner_hookexec", None)


def _plain_impls(
    caller: Any, pm: Any, names: tuple[str, ...]
) -> list[tuple[Callable[..., Any], tuple[str, ...]]] | None:
    """The hook's implementations as (function, the argument names it takes), in pluggy's
    call order, when pluggy would call each one plainly with some of ``names``; None when a
    call must go through pluggy (a wrapper, keyword extras, tracing or monitoring)."""
    multicall = _default_hookexec()
    if multicall is None or getattr(pm, "_inner_hookexec", None) is not multicall:
        return None  # tracing or monitoring (--debug) wraps every call: keep it
    plain = []
    for impl in reversed(caller.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper or getattr(impl, "kwargnames", ()):
            return None
        if any(a not in names for a in impl.argnames):
            return None
        plain.append((impl.function, tuple(impl.argnames)))
    return plain


class ReportHook:
    """One of the per-test report hooks (see the module docstring)."""

    __slots__ = ("name", "caller", "pm", "plain", "seen")

    def __init__(self, config: pytest.Config, name: str) -> None:
        self.name = name
        self.caller = getattr(config.hook, name)
        self.pm = getattr(config, "pluginmanager", None)  # None: a stand-in config (tests)
        # Per implementation: its function and which of the hook's arguments it takes
        # (positions in _ARGS[name]); None: call through pluggy.
        self.plain: list[tuple[Callable[..., Any], tuple[int, ...]]] | None = None
        self.seen: tuple[list[Any], Any] | None = None  # what refresh last looked at
        self.refresh()

    def refresh(self) -> None:
        if self.pm is None:  # a stand-in config: every call goes to its hook as given
            self.plain = None
            return
        seen = _seen(self.caller, self.pm)
        if seen == self.seen:  # nothing (un)registered, no tracing since: nothing to do
            return
        self.seen = (list(seen[0]), seen[1])
        names = _ARGS[self.name]
        found = _plain_impls(self.caller, self.pm, names)
        self.plain = (
            None if found is None else [(fn, tuple(names.index(a) for a in args)) for fn, args in found]
        )

    def report(self, report: pytest.TestReport) -> None:
        """``pytest_runtest_logreport(report=report)``."""
        plain = self.plain
        if plain is None:
            self.caller(report=report)
            return
        for fn, pos in plain:
            if pos:
                fn(report)
            else:
                fn()

    def node(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """``pytest_runtest_logstart``/``logfinish(nodeid=..., location=...)``."""
        plain = self.plain
        if plain is None:
            self.caller(nodeid=nodeid, location=location)
            return
        args = (nodeid, location)
        for fn, pos in plain:
            if len(pos) == 2 and pos[0] == 0:
                fn(nodeid, location)
            else:
                fn(*[args[i] for i in pos])


class TestStatus:
    """Stands in for ``config.hook.pytest_report_teststatus`` while the loop runs: the
    terminal reporter asks it once per report (three times per test). A firstresult hook:
    the implementations in pluggy's order, the first answer that is not None wins. With a
    wrapper, tracing, or an implementation taking more than ``report``/``config``, the call
    goes through pluggy. Every other attribute is the real hook caller's, so a plugin that
    registers meanwhile reaches pluggy as usual (and is seen from the next refresh on)."""

    def __init__(self, caller: Any, pm: Any) -> None:
        self._caller = caller
        self._pm = pm
        self._plain: list[tuple[Callable[..., Any], tuple[str, ...]]] | None = None
        self._seen: tuple[list[Any], Any] | None = None
        self.refresh()

    def refresh(self) -> None:
        seen = _seen(self._caller, self._pm)
        if seen == self._seen:
            return
        self._seen = (list(seen[0]), seen[1])
        self._plain = _plain_impls(self._caller, self._pm, ("report", "config"))

    def __call__(self, *, report: Any, config: Any) -> Any:
        plain = self._plain
        if plain is None:
            return self._caller(report=report, config=config)
        for fn, names in plain:
            if names == ("report",):
                res = fn(report)
            elif names == ("report", "config"):
                res = fn(report, config)
            else:
                res = fn(*[report if n == "report" else config for n in names])
            if res is not None:
                return res
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._caller, name)


class ReportHooks:
    """The per-test report hooks of a run; :meth:`install` puts :class:`TestStatus` in
    place for the loop and :meth:`uninstall` takes it out."""

    __slots__ = ("logstart", "logreport", "logfinish", "config", "teststatus")

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.logstart = ReportHook(config, "pytest_runtest_logstart")
        self.logreport = ReportHook(config, "pytest_runtest_logreport")
        self.logfinish = ReportHook(config, "pytest_runtest_logfinish")
        self.teststatus: TestStatus | None = None

    def install(self) -> None:
        if getattr(self.config, "pluginmanager", None) is None:
            return
        relay: Any = self.config.pluginmanager.hook  # its hook callers are plain attributes
        caller = getattr(relay, "pytest_report_teststatus", None)
        if caller is None or isinstance(caller, TestStatus):
            return
        self.teststatus = TestStatus(caller, self.config.pluginmanager)
        relay.pytest_report_teststatus = self.teststatus

    def uninstall(self) -> None:
        if self.teststatus is not None:
            relay: Any = self.config.pluginmanager.hook
            relay.pytest_report_teststatus = self.teststatus._caller
            self.teststatus = None

    def refresh(self) -> None:
        self.logstart.refresh()
        self.logreport.refresh()
        self.logfinish.refresh()
        if self.teststatus is not None:
            self.teststatus.refresh()


# Which plugins' implementations the pass batch knows (pytest's own, and testfleet's), by the
# name pytest registers them under; with any other implementation, or a wrapper, every test
# goes through the hooks one by one.
_BATCH_KNOWN = {
    "pytest_runtest_logstart": {"terminalreporter", "logging-plugin"},
    "pytest_runtest_logreport": {"terminalreporter", "logging-plugin", "lfplugin", "session"},
    "pytest_runtest_logfinish": {"logging-plugin"},
    "pytest_report_teststatus": {"terminal", "runner", "skipping", "subtests", "testfleet-controller"},
}
_TERMINAL_NEEDS = (
    "_add_stats",
    "_progress_nodeids_reported",
    "_tw",
    "_show_progress_info",
    "_screen_width",
    "_get_main_color",
    "_get_progress_information_message",
    "_session",
    "_is_last_item",
)


class PassBatch:
    """Clean passes settled in one loop round, reported to pytest together.

    A clean pass (three plain passed reports: no output, no longrepr, no extra attributes)
    does the same thing to every known implementation of the report hooks: the terminal
    reporter files its three reports under ``""``/``"passed"`` and writes a ``.`` (with the
    ``[ 42%]`` progress at the edge of the line), the last-failed cache forgets the test, the
    log-capture plugin moves its live handler through its phases, and the session counts no
    failure. Done one test at a time that is most of the controller's time per test on a
    suite of tiny tests. When every implementation of those hooks is one of these (and the
    output is the default or ``-q``, with ``progress``/``count``/``classic`` style),
    :meth:`add` keeps the test and :meth:`flush` has the same effects for the lot: the same
    stats lists in the same order, the same letters and progress lines (a line's dots in one
    write), the same cache. Anything else (another plugin, ``-v``, a failure, output) makes
    :meth:`flush` run first and the test go through the hooks as usual, so the order of what
    pytest sees is kept. :meth:`refresh` (once per loop round) decides whether it applies.
    """

    def __init__(self, config: pytest.Config, hooks: ReportHooks) -> None:
        self.config = config
        self.hooks = hooks
        self.pending: list[tuple[str, tuple[str, int | None, str], Sequence[pytest.TestReport]]] = []
        self.active = False
        self.tr: Any = None
        self.lastfailed: Callable[..., Any] | None = None
        self.logging: list[Callable[[], Any]] = []
        self.statuses: dict[str, Any] = {}  # when -> the teststatus answer for a clean pass
        self.rep_id: Callable[[Any], Any] = _report_id()
        self.batched = 0  # tests reported by flush, for --report-json (loop.passes_batched)
        self.seen: list[list[Any]] | None = None  # what refresh last looked at

    def refresh(self) -> None:
        self.flush()
        pm = getattr(self.config, "pluginmanager", None)
        seen = None
        if pm is not None:
            seen = [_impls(getattr(self.config.hook, name)) for name in _BATCH_KNOWN]
            seen.append([pm.get_plugin("terminalreporter")])
        if seen is not None and seen == self.seen:
            return
        self.seen = [list(x) for x in seen] if seen is not None else None
        self.statuses = {}
        self.active = self._applies()

    def _applies(self) -> bool:
        config = self.config
        pm = getattr(config, "pluginmanager", None)
        tr = pm.get_plugin("terminalreporter") if pm is not None else None
        if tr is None or any(not hasattr(tr, a) for a in _TERMINAL_NEEDS):
            return False
        if tr._show_progress_info not in ("progress", "count", False):
            return False
        if getattr(tr, "showlongtestinfo", True) or getattr(tr, "showfspath", True):
            return False
        verbosity = getattr(config, "get_verbosity", None)
        if (verbosity() if verbosity is not None else config.option.verbose) > 0:
            return False
        self.logging = []
        self.lastfailed = None
        for name, known in _BATCH_KNOWN.items():
            for impl in getattr(config.hook, name).get_hookimpls():
                if impl.hookwrapper or impl.wrapper or impl.plugin_name not in known:
                    return False
                if impl.plugin_name == "logging-plugin":
                    if impl.argnames:
                        return False
                    self.logging.append(impl.function)
                elif impl.plugin_name == "lfplugin":
                    self.lastfailed = impl.function
        self.tr = tr
        return True

    def add(
        self, nodeid: str, location: tuple[str, int | None, str], reports: Sequence[pytest.TestReport]
    ) -> bool:
        """Keep a clean pass for :meth:`flush`; False: report it through the hooks now."""
        if not self.active or len(reports) != 3:
            return False
        self.pending.append((nodeid, location, reports))
        return True

    def flush(self) -> None:
        pending = self.pending
        if not pending:
            return
        self.pending = []
        tr = self.tr
        statuses = self.statuses
        if not statuses:  # the answers for a clean pass, asked once through the real hook
            for rep in pending[0][2]:
                statuses[rep.when] = tuple(
                    self.config.hook.pytest_report_teststatus(report=rep, config=self.config)
                )
        if statuses.get("setup") != ("", "", "") or statuses.get("teardown") != ("", "", ""):
            self._one_by_one(pending)
            return
        category, letter, word = statuses["call"]
        if not letter or isinstance(word, tuple):
            self._one_by_one(pending)
            return
        quiet, calls = [], []
        for _, _, (setup, call, teardown) in pending:
            quiet.append(setup)
            quiet.append(teardown)
            calls.append(call)
        lastfailed = self.lastfailed
        if lastfailed is not None:
            for rep in calls:
                lastfailed(rep)
        for fn in self.logging:
            fn()
        tr._current_logreport = pending[-1][2][2]
        tr._tests_ran = True
        tr._add_stats("", quiet)
        tr._add_stats(category, calls)
        self._letters(tr, calls, letter)
        tr.flush()
        self.batched += len(calls)

    def _letters(self, tr: Any, calls: list[pytest.TestReport], letter: str) -> None:
        """What the terminal reporter writes for each call report, a line's worth at a time:
        the letter, and the progress at the line's edge (except after the last test)."""
        tw = tr._tw
        reported = tr._progress_nodeids_reported
        rep_id = self.rep_id
        style = tr._show_progress_info
        if style == "count":
            total = tr._session.testscollected
            width = len(f" [{total}/{total}]")
        else:
            width = len(" [100%]")
        screen = tr._screen_width
        i, n = 0, len(calls)
        while i < n:
            # After k more letters the line is past its edge when w + k + width + 1 >= screen.
            k = n - i if not style else max(1, screen - width - 1 - tw.width_of_current_line)
            chunk = calls[i : i + k]
            i += len(chunk)
            for rep in chunk:
                reported.add(rep_id(rep))
            tw.write(letter * len(chunk), green=True)
            if style and not tr._is_last_item and tw.width_of_current_line + width + 1 >= screen:
                color, _ = tr._get_main_color()
                tw.write(tr._get_progress_information_message() + "\n", **{color: True})

    def _one_by_one(self, pending: list[Any]) -> None:
        self.active = False
        hooks = self.hooks
        for nodeid, location, reports in pending:
            hooks.logstart.node(nodeid, location)
            for rep in reports:
                hooks.logreport.report(rep)
            hooks.logfinish.node(nodeid, location)


def _report_id() -> Callable[[Any], Any]:
    """What the terminal reporter counts a test's progress by: ``report.id`` where pytest has
    it, else ``report.nodeid``."""
    if isinstance(getattr(pytest.TestReport, "id", None), property):
        return lambda rep: rep.id
    return lambda rep: rep.nodeid
