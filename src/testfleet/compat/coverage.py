"""Coverage of every process that runs tests, combined in the controller.

With ``pytest --cov`` (pytest-cov) the controller, the collector and every worker run
pytest-cov's plugin: the controller's measures nothing (no test runs there), the
collector's measures the imports of collection, and a forked worker inherits the
collector's running measurement. The collector and the workers leave through ``os._exit``,
so pytest-cov never saves what they measured. This module:

- in a forked worker, stops the inherited measurement and starts a new one with the same
  configuration and a data file of its own (``.coverage.<host>.<pid>.<random>``), as
  coverage's ``patch = fork`` does (skipped when the user's configuration has it);
- saves the measurement of the collector and of each worker before it leaves;
- in the controller, silences the "No data was collected" warning of its own, empty
  measurement: pytest-cov combines the data files of the directory at the end of the run
  loop (``Central.finish``), after every process saved its own, and reports the total.

With ``coverage run -m testfleet run`` there is no pytest-cov: the controller asks for the
collector and spawned workers to be measured with its configuration (coverage's own
``COVERAGE_PROCESS_CONFIG``, started by coverage's ``.pth`` file at interpreter start-up),
their data files go to a private directory, and at the end of the session the controller
combines them into its own data, so ``coverage report`` shows the total of the whole run.

Coverage measured by a worker that crashes or is killed (timeout) is lost, as under xdist.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
from typing import Any

import pytest

ENV_CONFIG = "COVERAGE_PROCESS_CONFIG"
CONFIG_DATA_PREFIX = ":data:"
_QUIET_FLAGS = ("_warn_no_data", "_warn_unimported_source", "_warn_preimported_source")


def current() -> Any | None:
    """The running coverage.Coverage of this process, if coverage is in use at all."""
    if "coverage" not in sys.modules:
        return None
    import coverage

    return coverage.Coverage.current()


def _quiet(cov: Any) -> None:
    for flag in _QUIET_FLAGS:
        if hasattr(cov, flag):
            setattr(cov, flag, False)


def _pytest_cov_controller(config: pytest.Config) -> Any | None:
    plugin = config.pluginmanager.get_plugin("_cov")
    return getattr(plugin, "cov_controller", None)


def _data_file(cov: Any) -> str:
    data = getattr(cov, "_data", None)
    base = getattr(data, "_basename", None)
    return str(base) if base else os.path.abspath(cov.config.data_file)


def _serialized(cov: Any, data_file: str) -> str:
    cfg = copy.copy(cov.config)
    cfg.data_file = data_file
    cfg.parallel = True
    return str(cfg.serialize())


# ---------------------------------------------------------------- collector and workers
def child_configured() -> None:
    """In the collector or a spawned worker: the controller asked for measurement but
    coverage's ``.pth`` start-up hook is not installed: start it now (later than the
    hook would, after pytest's own start-up)."""
    if os.environ.get(ENV_CONFIG) and current() is None:
        import coverage

        try:
            coverage.process_startup(force=True)
        except TypeError:  # coverage < 7.10
            coverage.process_startup()


def worker_started(config: pytest.Config, forked: bool) -> None:
    """In a worker, before its first test."""
    parent = current()
    if parent is None or not forked or "fork" in (getattr(parent.config, "patch", None) or ()):
        return
    import coverage

    settings = _serialized(parent, _data_file(parent))
    if hasattr(parent, "_auto_save"):
        parent._auto_save = False  # the collector saves what it measured before the fork
    parent.stop()
    cov = coverage.Coverage(config_file=CONFIG_DATA_PREFIX + settings, data_suffix=True)
    _quiet(cov)
    cov.start()
    controller = _pytest_cov_controller(config)
    if controller is not None:
        controller.cov = cov  # pytest-cov pauses and resumes it for no_cover tests


def save() -> None:
    """Before the collector or a worker leaves through os._exit."""
    cov = current()
    if cov is None:
        return
    try:
        cov.stop()
        cov.save()
    except Exception:  # noqa: BLE001 - what cannot be saved is lost, the run goes on
        import traceback

        traceback.print_exc()


# ---------------------------------------------------------------- controller
def _whole_process(cov: Any) -> bool:
    """``cov`` measures this whole process: started by ``coverage run`` (the only caller that
    asks for pre-imported-module warnings) or by coverage's own subprocess start-up."""
    import coverage

    return bool(getattr(cov, "_warn_preimported_source", False)) or (
        getattr(coverage.process_startup, "coverage", None) is cov
    )


class CoverageRun:
    """``coverage run -m testfleet``: the children's data, combined into the controller's."""

    def __init__(self, cov: Any) -> None:
        self.cov = cov
        _quiet(cov)  # the controller runs no test: "No data was collected" is not true of the run
        self.dir = tempfile.mkdtemp(prefix="testfleet-coverage-")
        self.previous = os.environ.get(ENV_CONFIG)
        os.environ[ENV_CONFIG] = _serialized(cov, os.path.join(self.dir, ".coverage"))

    def finish(self) -> None:
        if self.previous is None:
            os.environ.pop(ENV_CONFIG, None)
        else:
            os.environ[ENV_CONFIG] = self.previous
        try:
            if any(name.startswith(".coverage.") for name in os.listdir(self.dir)):
                messages = getattr(self.cov, "_messages", None)
                if messages is not None:
                    self.cov._messages = False  # no "Combined 3 files" line after pytest's summary
                try:
                    self.cov.combine(data_paths=[self.dir], keep=False)
                finally:
                    if messages is not None:
                        self.cov._messages = messages
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def controller_configured(config: pytest.Config) -> CoverageRun | None:
    """In the controller of a fleet run, at pytest_configure."""
    cov = current()
    if cov is None:
        return None
    if _pytest_cov_controller(config) is not None:
        _quiet(cov)  # pytest-cov's own measurement of the controller: empty by design
        return None
    if not _whole_process(cov):
        return None  # a plugin's own measurement (testfleet audit's probe): it handles its workers
    run = CoverageRun(cov)
    # A collector `testfleet run` started before pytest configured was started without
    # the measurement: the executor starts another.
    from testfleet.executor.local import Prestarted

    if Prestarted.current is not None:
        Prestarted.current.discard()
    return run
