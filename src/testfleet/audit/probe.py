"""pytest plugin loaded by ``testfleet audit --run`` with ``-p testfleet.audit.probe``.

It does nothing unless ``TESTFLEET_AUDIT_DIR`` is set. Then, in every process that runs tests:

* coverage.py (``branch=True``) measures ``TESTFLEET_AUDIT_SOURCE`` with one dynamic context per
  test (the pytest node id); each process saves its own data file (``data_suffix``), combined later;
* executed checks are counted per test: passing ``assert`` statements (``pytest_assertion_pass``,
  needs ``-o enable_assertion_pass_hook=true``), ``unittest.TestCase.assert*/fail*`` calls, mock
  ``assert_*`` calls and ``pytest.raises/warns/deprecated_call`` calls;
* one JSON line per test (node id, file, outcome, duration, checks) goes to ``tests-<pid>.jsonl``.

A check counts only when the suite makes it (a test module, a conftest, a helper): pytest also
rewrites the asserts of every installed plugin's packages (a ``pytest11`` entry point), testfleet's
own included, and its pass hook fires for them inside the running test's protocol. testfleet's
worker asserts while a test tears down when it asks for the next test then (``LateNext``), which
credited a test that checks nothing with one check, depending on the order the tests arrived in.
So the code making a check is looked up (the assert's frame, or the caller of a counted call) and
checks made by plugins' packages are not counted (``_is_harness``).

Coverage is coverage.py's own process machinery when ``TESTFLEET_AUDIT_COVRC`` names a config with
``patch = subprocess, _exit, fork`` and ``parallel = true`` (``measure.coverage_config``): the probe
sets ``COVERAGE_PROCESS_START`` so that every Python process started from here on measures itself
(testfleet's collector and the subprocesses tests start, through coverage's ``.pth`` file), forked
children (testfleet's workers, ``multiprocessing``) restart coverage, and ``os._exit`` saves first.
Under testfleet (``TESTFLEET_AUDIT_FLEET=1``) the controller itself is not measured (it is the
audit's harness); in each worker the probe switches the dynamic context of the worker's coverage to
the running test. Without that config (older coverage) the probe starts one coverage per process
itself: the collector's until the end of collection, each worker's from
``pytest_testfleet_worker_started`` to ``pytest_testfleet_worker_stopping``, or one per session.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from _pytest.assertion import rewrite as _rewrite

ENV_DIR = "TESTFLEET_AUDIT_DIR"
ENV_SOURCE = "TESTFLEET_AUDIT_SOURCE"
ENV_FLEET = "TESTFLEET_AUDIT_FLEET"
ENV_COVRC = "TESTFLEET_AUDIT_COVRC"


@dataclass
class _State:
    out: Path
    source: list[str]
    fleet: bool
    cov: Any = None
    process_mode: bool = False  # coverage.py's process machinery measures (and saves) every process
    current: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    harness: frozenset[str] = frozenset({"testfleet"})  # top-level packages whose checks do not count
    test_files: tuple[str, ...] = ("test_*.py", "conftest.py")  # the suite's own, even in such a package
    harness_files: dict[str, bool] = field(default_factory=dict)  # file name -> verdict (a cache)
    local = threading.local()


_STATE: _State | None = None  # module global: the counting wrappers are installed process-wide


def _start(tag: str) -> Any:
    import coverage

    if _STATE is None:  # no assert here: pytest rewrites this module and would count it as a check
        return None
    cov = coverage.Coverage(
        data_file=str(_STATE.out / ".coverage"),
        data_suffix=f"{tag}.{os.getpid()}",
        branch=True,
        source=_STATE.source or None,
        auto_data=False,
        config_file=False,
    )
    cov.start()
    return cov


def _process_coverage() -> Any:
    """The coverage that coverage.py started in this process (its ``.pth`` hook), or start it now."""
    import coverage

    cov = coverage.Coverage.current()
    if cov is None:
        coverage.process_startup()
        cov = coverage.Coverage.current()
    return cov


def _stop(save: bool) -> None:
    if _STATE is not None and _STATE.process_mode:
        return  # coverage.py saves at exit, at os._exit and before exec
    if _STATE is not None and _STATE.cov is not None:
        _STATE.cov.stop()
        if save:
            _STATE.cov.save()
        _STATE.cov = None


def _plugin_packages() -> frozenset[str]:
    """The top-level packages of installed pytest plugins (what pytest rewrites as plugins' code),
    and testfleet's, which runs the tests."""
    from importlib import metadata

    tops = {"testfleet"}
    for dist in metadata.distributions():
        if not any(ep.group == "pytest11" for ep in dist.entry_points):
            continue
        listed = (dist.read_text("top_level.txt") or "").split()
        files = [] if listed else [f.parts[0] for f in dist.files or () if f.suffix == ".py"]
        tops.update(listed or (top.removesuffix(".py") for top in files))
        tops.update(
            ep.value.partition(".")[0].partition(":")[0] for ep in dist.entry_points if ep.group == "pytest11"
        )
    return frozenset(tops)


def _is_harness(s: _State, frame: FrameType) -> bool:
    """Whether the code of ``frame`` belongs to a plugin's package (not a test module or conftest)."""
    filename = frame.f_code.co_filename
    verdict = s.harness_files.get(filename)
    if verdict is None:
        top = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        base = os.path.basename(filename)
        verdict = top in s.harness and not any(fnmatch.fnmatch(base, p) for p in s.test_files)
        s.harness_files[filename] = verdict
    return verdict


def _count(frame: FrameType | None) -> None:
    """One check for the running test, made by the code of ``frame`` (None: not known)."""
    s = _STATE
    if s is None or s.current is None or getattr(s.local, "depth", 0) > 0:
        return
    if frame is not None and _is_harness(s, frame):
        return
    s.counts[s.current] = s.counts.get(s.current, 0) + 1


def _asserting_frame() -> FrameType | None:
    """The frame whose assert just passed: the caller of pytest's ``_call_assertion_pass`` (None
    when this pytest has no such function: the check then counts, as before)."""
    called = getattr(_rewrite, "_call_assertion_pass", None)
    code = getattr(called, "__code__", None)
    if code is None:
        return None
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code is not code:
        frame = frame.f_back
    return frame.f_back if frame is not None else None


def _counting(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = _STATE
        if state is None:
            return fn(*args, **kwargs)
        _count(sys._getframe(1))
        state.local.depth = getattr(state.local, "depth", 0) + 1
        try:
            return fn(*args, **kwargs)
        finally:
            state.local.depth -= 1

    wrapper.__testfleet_counting__ = True  # type: ignore[attr-defined]
    return wrapper


def _install_counters() -> None:
    import unittest
    from unittest import mock

    prefixes: list[tuple[type, tuple[str, ...]]] = [
        (unittest.TestCase, ("assert", "fail")),
        (mock.NonCallableMock, ("assert_",)),
    ]
    for cls, prefix in prefixes:
        for name in list(vars(cls)):
            attr = vars(cls)[name]
            if (
                name.startswith(prefix)
                and callable(attr)
                and not getattr(attr, "__testfleet_counting__", False)
            ):
                setattr(cls, name, _counting(attr))
    for name in ("raises", "warns", "deprecated_call"):
        attr = getattr(pytest, name)
        if not getattr(attr, "__testfleet_counting__", False):
            setattr(pytest, name, _counting(attr))


def pytest_configure(config: pytest.Config) -> None:
    global _STATE
    out = os.environ.get(ENV_DIR)
    if not out:
        return
    source = [s for s in os.environ.get(ENV_SOURCE, "").split(os.pathsep) if s]
    _STATE = _State(
        Path(out),
        source,
        os.environ.get(ENV_FLEET) == "1",
        harness=_plugin_packages(),
        test_files=(*config.getini("python_files"), "conftest.py"),
    )
    _STATE.out.mkdir(parents=True, exist_ok=True)
    _install_counters()
    _relax_hypothesis()
    rc = os.environ.get(ENV_COVRC)
    if rc and _has_process_patches():
        os.environ["COVERAGE_PROCESS_START"] = rc  # inherited by every process started from here on
        _STATE.process_mode = True
        _keep_parent_data_in_parent()
        if _STATE.fleet and not os.environ.get("TESTFLEET_ROLE"):
            return  # testfleet's controller: the audit's harness, not code under test
        _STATE.cov = _process_coverage()
        return
    _STATE.cov = _start("main")


_FORKING: list[Any] = []  # the coverage running in this process when it forks


def _keep_parent_data_in_parent() -> None:
    """After a fork, coverage.py's fork patch restarts coverage in the child, but the parent's
    Coverage object lives on there: its ``os._exit`` and SIGTERM hooks would save the parent's data
    from the child, into the parent's data file, racing with the parent's own save (seen as a
    corrupt data file from a ``multiprocessing`` fork pool). In the child it saves nothing."""
    import coverage

    def before() -> None:
        _FORKING[:] = [coverage.Coverage.current()]

    def after_in_child() -> None:
        parent = _FORKING[0] if _FORKING else None
        if parent is not None and parent is not coverage.Coverage.current():
            parent.save = lambda: None

    os.register_at_fork(before=before, after_in_child=after_in_child)


def _has_process_patches() -> bool:
    try:
        import coverage.patch
    except ImportError:
        return False
    return all(hasattr(coverage.patch, f"_patch_{p}") for p in ("subprocess", "_exit", "fork"))


def _relax_hypothesis() -> None:
    """Tracing makes every test slower: timing-based hypothesis health checks and deadlines would
    fail for the audit's sake, so they are off in the audit's run (other settings are kept)."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile(
        "testfleet-audit", parent=settings.default, deadline=None, suppress_health_check=list(HealthCheck)
    )
    settings.load_profile("testfleet-audit")


def pytest_collection_finish(session: pytest.Session) -> None:
    if _STATE is not None and _STATE.fleet:
        _stop(save=True)  # the collector: import and collection lines; workers measure the tests


@pytest.hookimpl(optionalhook=True)
def pytest_testfleet_worker_started(config: pytest.Config, worker_id: str) -> None:
    if _STATE is None:
        return
    _STATE.records.clear()
    _STATE.counts.clear()
    if _STATE.process_mode:
        _STATE.cov = _process_coverage()  # restarted after the fork by coverage's fork patch
        return
    _stop(save=False)  # a coverage inherited through fork belongs to the collector
    _STATE.cov = _start(f"w{worker_id}")


@pytest.hookimpl(optionalhook=True)
def pytest_testfleet_worker_stopping(config: pytest.Config, worker_id: str) -> None:
    if _STATE is not None:
        _stop(save=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _STATE is None:
        return
    _STATE.current = item.nodeid
    _STATE.counts[item.nodeid] = 0
    _STATE.records[item.nodeid] = {
        "nodeid": item.nodeid,
        "file": str(item.path),
        "outcome": None,
        "duration": 0.0,
        "checks": 0,
        "rootdir": str(item.config.rootpath),
    }
    if _STATE.cov is not None:
        _STATE.cov.switch_context(item.nodeid)


def pytest_assertion_pass(item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
    _count(_asserting_frame())


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    s = _STATE
    if s is None or report.nodeid not in s.records:
        return  # not executed in this process (e.g. the controller re-emitting a worker's report)
    rec = s.records[report.nodeid]
    rec["duration"] += report.duration
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            rec["outcome"] = "xfailed" if report.skipped else "xpassed"
        else:
            rec["outcome"] = report.outcome if report.when == "call" or report.skipped else "error"
    elif report.when == "teardown":
        if report.failed and rec["outcome"] in (None, "passed"):
            rec["outcome"] = "error"
        rec["checks"] = s.counts.get(report.nodeid, 0)
        with open(s.out / f"tests-{os.getpid()}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        del s.records[report.nodeid]
        s.current = None
        if s.cov is not None:
            s.cov.switch_context("")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _STATE is not None and not _STATE.fleet:
        _stop(save=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STATE is not None:
        _stop(save=not _STATE.fleet)
