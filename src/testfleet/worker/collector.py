"""The collector: imports and collects the suite once, then forks workers on request.

Started by the controller as ``python -m testfleet.worker.collector`` with a JSON spec in
``TESTFLEET_SPEC``. It runs a normal pytest start-up with the user's arguments (so
conftests, plugins, ``-k``/``-m`` and deselection behave as in plain pytest), sends the
collection to the controller and becomes a fork server: every worker is a fork of this
fully-collected process, so a replacement worker starts in milliseconds with no
re-collection. In ``spawn`` mode the same entry point runs as a worker that collects for
itself and then serves tests directly.

The collector never runs tests and never reaches pytest's session finish (it leaves with
``os._exit``), so it writes no junit file and no cache.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testfleet.compat import collection_warnings
from testfleet.diagnostics import describe_status
from testfleet.hardware.forksafety import error_line, fork_hazard
from testfleet.messages import Channel, ChannelClosed
from testfleet.split import Split, collection_hash
from testfleet.split_history import FileWeights, read_weights, weights_path
from testfleet.worker import capture
from testfleet.worker import items as item_info


class FileSplit:
    """Collector ``index`` of ``count`` (``--collectors``): collects only its share of the
    files (:class:`testfleet.split.Split`, by size in bytes, in the order pytest visits them).

    Every file some plugin would collect (``pytest_collect_file`` returns collectors for it:
    test modules, doctest modules and text files, other plugins' files, files named on the
    command line) gets a collector; a file of another collector's is dropped before it is
    imported. A wrapper of ``pytest_collect_file`` rather than ``pytest_ignore_collect``:
    pytest does not ask ``pytest_ignore_collect`` about the paths given on the command line,
    and the plugins' own answer says which files are collected, so no rule of pytest's
    (``python_files``, ``--doctest-modules``, ...) is repeated here.

    For the merge, each file gets its *key*: its position in the collection tree (the
    position of each node among its parent's children, from the root). pytest visits a
    directory's files before its subdirectories but lists the items in tree order, so the
    visit order is not the item order; the keys sort as one collector's items do. ``key``
    maps file paths to keys, ``key_of_nodeid`` the collectors made (files, directories)."""

    def __init__(self, index: int, count: int) -> None:
        self.index = index
        self.split = Split(count)
        # A file's weight: its size, or the time its tests took (testfleet.split_history).
        self.weigh: Callable[[Path], float] = FileWeights({}, Path())
        self.key: dict[Path, list[int]] = {}
        self.key_of_nodeid: dict[str, list[int]] = {}
        self.children: dict[str, int] = {}  # parent node id -> children numbered so far
        self.foreign: set[str] = set()  # node ids of other collectors' files named on the command line
        self.decisions = hashlib.sha256()  # every file and its owner: all collectors must agree

    def _place(self, parent: pytest.Collector, nodes: list[Any]) -> list[int]:
        pos = self.children.get(parent.nodeid, 0)
        self.children[parent.nodeid] = pos + 1
        key = [*self.key_of_nodeid.get(parent.nodeid, []), pos]
        for node in nodes:
            self.key_of_nodeid[node.nodeid] = key
        return key

    @pytest.hookimpl(wrapper=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> Any:
        found = yield
        if found is not None:
            self._place(parent, [found])
        return found

    @pytest.hookimpl(wrapper=True)
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        found = yield
        if not found or file_path in self.key:
            return found
        owner = self.split.assign(self.weigh(file_path))
        self.key[file_path] = self._place(parent, found)
        self.decisions.update(f"{file_path}\0{owner}\n".encode("utf-8", "surrogatepass"))
        if owner == self.index:
            return found
        if parent.session.isinitpath(file_path):
            # Named on the command line: pytest reports a path that yields no collector as
            # "not found", so it is collected here too and its items dropped before any
            # other plugin sees them (pytest_collection_modifyitems), its errors not reported.
            self.foreign.update(node.nodeid for node in found)
            return found
        return []

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.foreign:
            items[:] = [item for item in items if not self.is_foreign(item.nodeid)]

    def is_foreign(self, nodeid: str) -> bool:
        """Of a file named on the command line that another collector collects."""
        return bool(self.foreign) and nodeid.partition("::")[0] in self.foreign

    def item_key(self, item: pytest.Item) -> list[int]:
        """The key of the file ``item`` was collected from (empty: none known)."""
        key = self.key.get(item.path)
        if key is not None:
            return key
        for node in reversed(item.listchain()):
            key = self.key_of_nodeid.get(node.nodeid)
            if key is not None:
                return key
        return []


def _file_weights(config: pytest.Config) -> FileWeights:
    """What the split weighs files by: the store's file times, else their sizes."""
    from testfleet import config as settings_mod
    from testfleet.errors import TestfleetError
    from testfleet.options import pytest_values

    try:
        db = settings_mod.build(pytest_values(config.option), config.rootpath).db
    except TestfleetError:  # the controller reports it
        db = "none"
    path = weights_path(db, config.invocation_params.dir, config.rootpath)
    return FileWeights(read_weights(path), config.rootpath)


class CollectorPlugin:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.errors: list[dict[str, Any]] = []  # failed and skipped collectors, for the controller
        self.error_lines: list[str] = []  # failed collectors, one line each (spawned workers)
        self.deselected: list[str] = []  # node ids, for the controller's pytest_deselected
        self.t0 = time.perf_counter()
        self.chan: Channel | None = None
        self.role = spec["role"]
        # Collection makes many objects that live as long as the run, and the cyclic GC would
        # traverse them again and again, in the collector and then in every worker. With
        # gc_freeze (the default) there is no cyclic GC while collecting, and what exists at
        # the end of collection is frozen (gc.freeze) before the workers start, so their
        # collections skip it. Tests' own objects are collected as usual.
        self.gc_freeze = bool(spec.get("gc_freeze", True))
        self.gc_was_enabled = gc.isenabled()
        if self.gc_freeze:
            gc.disable()
        count = int(spec.get("collectors", 1))
        self.files = FileSplit(int(spec.get("collector", 0)), count) if count > 1 else None

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.extend(item.nodeid for item in items)

    @pytest.hookimpl(trylast=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # Failed collectors are errors; skipped ones (a module-level skip or importorskip)
        # count as skipped, as in plain pytest.
        if self.files is not None and self.files.is_foreign(report.nodeid):
            return  # another collector's file (named on the command line): its to report
        if report.failed or report.skipped:
            cfg = self._config
            self.errors.append(cfg.hook.pytest_report_to_serializable(config=cfg, report=report))
        if report.failed:  # hardware: a spawned worker names them in hello (controller message)
            self.error_lines.append(f"{report.nodeid or 'collection'}: {error_line(report.longreprtext)}")

    def pytest_configure(self, config: pytest.Config) -> None:
        self._config = config
        if self.files is not None:
            self.files.weigh = _file_weights(config)
            config.pluginmanager.register(self.files, "testfleet-file-split")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        # Configured already; tests (which may start testfleet themselves) must not see it.
        os.environ.pop("TESTFLEET_ROLE", None)
        nodeids = [it.nodeid for it in session.items]
        digest = collection_hash(nodeids)
        seconds = time.perf_counter() - self.t0
        if self.gc_freeze:
            gc.freeze()
        if self.role == "worker":
            self._serve_spawned(session, digest)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.spec["address"])
        self.chan = Channel(sock)
        nodeid_list, extra = item_info.describe_all(session.items)
        split: dict[str, Any] = {}
        if self.files is not None:  # --collectors K: this collector's part, for the merge
            files = self.files
            split = {
                "collector": files.index,
                "keys": [files.item_key(it) for it in session.items],
                "split": files.decisions.hexdigest()[:16],
                # perf_counter is the system's monotonic clock (Linux): comparable across the
                # collectors, for the wall time from the first start to the last collection,
                # both ends where one collector's "seconds" start and end.
                "span": [self.t0, self.t0 + seconds],
                "error_keys": [files.key_of_nodeid.get(e.get("nodeid", ""), []) for e in self.errors],
            }
        self.chan.send(
            {
                **split,
                "t": "collected",
                "role": "collector",
                "token": self.spec.get("token", ""),
                "items": nodeid_list,
                "extra": extra,
                "errors": self.errors,
                "deselected": self.deselected,
                "hash": digest,
                "seconds": seconds,
                "pid": os.getpid(),
                "warnings": collection_warnings(session.config),
                "fork_hazard": fork_hazard(),  # hardware: CUDA initialised before the fork
            }
        )
        capture.stop_global_capture(session.config)
        _dump_profile("collector")
        sys.stdout.flush()
        sys.stderr.flush()
        code = ForkServer(session, self.chan, self.spec, digest, self.restore_gc).serve()
        session.config.hook.pytest_testfleet_collector_stopping(config=session.config)
        os._exit(code)

    def restore_gc(self) -> None:
        """In a worker: the cyclic GC as it was before collection."""
        if self.gc_freeze and self.gc_was_enabled:
            gc.enable()

    def _serve_spawned(self, session: pytest.Session, digest: str) -> None:
        from testfleet.worker.loop import prepare_process, run_worker

        # Collection errors are the collector's to report: the controller only starts workers
        # when the run goes on despite them (--continue-on-collection-errors).
        worker_id = self.spec["worker"]
        self.restore_gc()
        prepare_process(worker_id, self.spec["workdir"], new_session=False)
        code = run_worker(
            session,
            worker_id=worker_id,
            address=self.spec["address"],
            workdir=self.spec["workdir"],
            collection_hash=digest,
            token=self.spec.get("token", ""),
            extra_caps={
                **(self.spec.get("caps") or {}),
                **({"collection_errors": self.error_lines} if self.error_lines else {}),
            },
        )
        os._exit(code)


class ForkServer:
    """Forks a worker for each ``fork`` request; reports each worker's exit status."""

    def __init__(
        self,
        session: pytest.Session,
        chan: Channel,
        spec: dict[str, Any],
        digest: str,
        in_worker: Callable[[], None] = lambda: None,
    ) -> None:
        self.session = session
        self.in_worker = in_worker
        self.chan = chan
        self.spec = spec
        self.digest = digest
        self.children: dict[int, str] = {}
        self.items: list[Any] | None = None  # --collectors K: the merged collection (layout)

    def serve(self) -> int:
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        signal.set_wakeup_fd(wfd)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while True:
                ready, _, _ = select.select([self.chan.fileno(), rfd], [], [], 1.0)
                if rfd in ready:
                    os.read(rfd, 4096)
                self._reap()
                if self.chan.fileno() in ready:
                    alive = self.chan.feed()
                    for msg in self.chan.messages():
                        if msg["t"] == "fork":
                            self._fork(msg, (rfd, wfd))
                        elif msg["t"] == "layout":
                            self._layout(msg)
                        elif msg["t"] == "shutdown":
                            return self._shutdown()
                    if not alive:  # the controller went away: take the workers down with us
                        return self._shutdown(kill=True)
        except ChannelClosed:
            return self._shutdown(kill=True)

    def _layout(self, msg: dict[str, Any]) -> None:
        """``--collectors K``: where this collector's items are in the merged collection.
        Workers forked from now on index a list as long as the whole run's collection that
        holds this collector's items at their global indices (the rest is None: another
        collector's), so the controller's indices need no translation, per test or at all;
        they send the merged collection's hash in ``hello``."""
        view: list[Any] = [None] * int(msg["total"])
        for item, index in zip(self.session.items, msg["indices"], strict=True):
            view[index] = item
        self.items = view
        self.digest = msg["hash"]

    def _fork(self, msg: dict[str, Any], pipe: tuple[int, int]) -> None:
        t0 = time.perf_counter()
        worker_id = msg["worker"]
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                for fd in pipe:
                    os.close(fd)
                self.chan.close()
                os.environ.update(msg.get("env", {}))
                self.in_worker()
                from testfleet.worker.loop import prepare_process, run_worker

                prepare_process(worker_id, self.spec["workdir"], new_session=True)
                profile = os.environ.get("TESTFLEET_PROFILE_WORKERS")  # debugging aid: a dir
                if profile:
                    import cProfile

                    prof = cProfile.Profile()
                    prof.enable()
                code = run_worker(
                    self.session,
                    worker_id=worker_id,
                    address=self.spec["address"],
                    workdir=self.spec["workdir"],
                    collection_hash=self.digest,
                    token=self.spec.get("token", ""),
                    items=self.items,
                )
                if profile:
                    prof.disable()
                    prof.dump_stats(os.path.join(profile, f"{worker_id}.prof"))
            except BaseException:  # noqa: BLE001 - a worker must never return into the collector
                traceback.print_exc()
            finally:
                os._exit(code)
        self.children[pid] = worker_id
        self.chan.send({"t": "forked", "worker": worker_id, "pid": pid, "seconds": time.perf_counter() - t0})

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker_id = self.children.pop(pid, None)
            if worker_id is None:
                continue
            try:
                self.chan.send(
                    {
                        "t": "exited",
                        "worker": worker_id,
                        "pid": pid,
                        "status": describe_status(status),
                        "code": os.waitstatus_to_exitcode(status),
                    }
                )
            except ChannelClosed:
                pass

    def _shutdown(self, kill: bool = False) -> int:
        deadline = time.monotonic() + (0 if kill else 5.0)
        while self.children and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.01)
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        return 0


_PROFILER: Any = None


def _dump_profile(name: str) -> None:
    """Debugging aid (``TESTFLEET_PROFILE_WORKERS=DIR``): the collector's profile up to the fork."""
    global _PROFILER
    if _PROFILER is not None:
        _PROFILER.disable()
        _PROFILER.dump_stats(os.path.join(os.environ["TESTFLEET_PROFILE_WORKERS"], f"{name}.prof"))
        _PROFILER = None


def main() -> None:
    global _PROFILER
    if os.environ.get("TESTFLEET_PROFILE_WORKERS"):
        import cProfile

        _PROFILER = cProfile.Profile()
        _PROFILER.enable()
    spec = json.loads(os.environ.pop("TESTFLEET_SPEC"))
    os.environ["TESTFLEET_ROLE"] = spec["role"]
    os.chdir(spec["cwd"])
    plugin = CollectorPlugin(spec)
    try:
        code = pytest.main(spec["args"], plugins=[plugin])
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        code = 3
    # pytest returned: it never reached the run loop (usage error, conftest error, ...).
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(spec["address"])
        Channel(sock).send(
            {
                "t": "failed",
                "role": spec["role"],
                "exitcode": int(code),
                "token": spec.get("token", ""),
                "worker": spec.get("worker"),
                "collector": spec.get("collector", 0),
            }
        )
    except OSError:
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code) or 3)


if __name__ == "__main__":
    main()
