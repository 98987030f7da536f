"""The loop that runs inside every worker process (forked, spawned, or on a Ray node).

The worker holds a short queue of test indices sent by the controller. It runs the head of
the queue through ``pytest_runtest_protocol(item, nextitem)`` as soon as it knows the next
item (or knows there is none), so module and class fixtures are torn down exactly as in a
plain pytest run. Every report goes back through ``pytest_report_to_serializable``.

It imports nothing of the controller: only pytest, :mod:`testfleet.messages` and
:mod:`testfleet.worker.probe`.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from typing import Any

import pytest

from testfleet.hardware import worker as hardware
from testfleet.messages import (
    PROTOCOL_VERSION,
    Channel,
    ChannelClosed,
    encode_json,
    encode_location,
    encode_names,
    frame,
)
from testfleet.worker import capture
from testfleet.worker.journal import WorkerJournal
from testfleet.worker.probe import capabilities

# Captured sections larger than this are cut (head and tail kept) before they cross the wire.
MAX_SECTION_CHARS = 256 * 1024
_FLUSH = object()


def cut(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... testfleet cut {len(text) - limit} characters ...]\n{text[-half:]}"


# What every TestReport carries. A report with nothing more, no longrepr, no sections and
# no user properties (a clean pass, most of a suite) crosses the wire as a short list
# instead of pytest's serialized dict; the controller rebuilds it from what it knows.
_PLAIN_KEYS = frozenset(
    {
        "_id",
        "nodeid",
        "location",
        "keywords",
        "outcome",
        "longrepr",
        "when",
        "user_properties",
        "sections",
        "duration",
        "start",
        "stop",
    }
)


def encode_report(config: pytest.Config, report: pytest.TestReport) -> Any:
    """A report for the wire: ``[when, outcome, duration, start, stop]`` when it is plain,
    else pytest's ``pytest_report_to_serializable`` dict with long sections cut."""
    if (
        report.longrepr is None
        and not report.sections
        and not report.user_properties
        and report.__dict__.keys() <= _PLAIN_KEYS
    ):
        return [report.when, report.outcome, report.duration, report.start, report.stop]
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    sections = data.get("sections")
    if sections:
        data["sections"] = [(title, cut(body)) for title, body in sections]
    lr = data.get("longrepr")
    if isinstance(lr, str):
        data["longrepr"] = cut(lr)
    return data


class Done:
    """A test's ``done`` message, its parts encoded once: the same text goes to the worker's
    journal and, with the ``next`` test's start once known, to the controller."""

    __slots__ = ("index", "reports", "keywords")

    def __init__(self, index: int, reports: str, keywords: str) -> None:
        self.index = index
        self.reports = reports  # JSON text of the list of wire reports
        self.keywords = keywords  # JSON text of the list of keyword names

    def frame(self, nxt: int | None = None, ts: float = 0.0, location: str = "") -> bytes:
        """The message, with the start of test ``nxt`` at ``ts`` (``location``: JSON text)."""
        tail = "}" if nxt is None else f',"next":[{nxt},{ts!r},{location}]}}'
        return frame(f'{{"t":"done","i":{self.index},"r":{self.reports},"kw":{self.keywords}{tail}')


class WorkerPlugin:
    """Registered in the worker: collects the reports of the running test and forwards
    warnings to the controller."""

    def __init__(self, config: pytest.Config, chan: Channel) -> None:
        self.config = config
        self.chan = chan
        self.current = -1
        self.reports: list[pytest.TestReport] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.reports.append(report)

    def done_message(self, index: int) -> Done:
        """The test's reports, in one message: ``done`` (i, r: reports, kw: keyword names)."""
        reports, self.reports = self.reports, []
        kw = list(reports[0].keywords) if reports else []
        return Done(index, encode_json([encode_report(self.config, r) for r in reports]), encode_names(kw))

    @pytest.hookimpl(trylast=True)
    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str, location: Any) -> None:
        self.chan.queue(
            {
                "t": "warning",
                "nodeid": nodeid,
                "when": when,
                "message": str(warning_message.message),
                "category": warning_message.category.__name__,
                "filename": warning_message.filename,
                "lineno": warning_message.lineno,
            }
        )


def _quiet_controller_plugins(config: pytest.Config) -> None:
    """Plugins whose output belongs to the controller do nothing in a worker."""
    pm = config.pluginmanager
    for plugin in list(pm.get_plugins()):
        name = type(plugin).__name__
        if name in {"LogXML", "ResultLog"}:
            pm.unregister(plugin)
    tr = pm.get_plugin("terminalreporter")
    if tr is not None:
        # Plugins may still look the reporter up; they get it, but it no longer sees hooks.
        pm.unregister(tr)
        pm.register(_SilentReporterShim(tr), "terminalreporter")


def _trust_controller_dependencies() -> None:
    """pytest-dependency checks a test's dependencies against what ran in this process; in a
    fleet they may have run on another worker. The controller hands a dependent test out only
    once its dependencies passed (and skips it itself otherwise: scheduler/deps.py), so here an
    unknown dependency is one that passed elsewhere: the plugin is told to ignore unknown ones."""
    module = sys.modules.get("pytest_dependency")
    if module is not None and hasattr(module, "_ignore_unknown"):
        setattr(module, "_ignore_unknown", True)  # noqa: B010 - a private global of the plugin


class _SilentReporterShim:
    """Holds a TerminalReporter for plugins that call ``get_plugin('terminalreporter')`` but
    implements no hooks, so per-test reporting costs nothing in the worker."""

    def __init__(self, reporter: Any) -> None:
        self._reporter = reporter

    def __getattr__(self, name: str) -> Any:
        if name.startswith("pytest_"):
            raise AttributeError(name)
        return getattr(self._reporter, name)


def _idle_thread() -> None:
    # A thread that never blocks signals, so SIGUSR1 (stack dump) is delivered even when the
    # test blocks signals in the main thread.
    threading.Event().wait()


def prepare_process(worker_id: str, workdir: str, *, new_session: bool) -> None:
    """Process-level set-up of a fresh worker: own session, fds, stack and crash dumps."""
    if new_session:
        try:
            os.setsid()
        except OSError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_DFL)
    # As Python sets it at start-up: a write to a closed peer raises BrokenPipeError in the test
    # (and in the worker's own channel, ChannelClosed) instead of killing the worker.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    log = os.open(os.path.join(workdir, f"{worker_id}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    stacks = open(os.path.join(workdir, f"{worker_id}.stacks"), "w")  # noqa: SIM115
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True, chain=False)
    crash = open(os.path.join(workdir, f"{worker_id}.crash"), "w")  # noqa: SIM115
    faulthandler.enable(file=crash, all_threads=True)
    threading.Thread(target=_idle_thread, name="testfleet-signals", daemon=True).start()


def connect(address: str) -> socket.socket:
    if address.startswith("tcp:"):
        host, _, port = address[4:].rpartition(":")
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
    return sock


def run_worker(
    session: pytest.Session,
    *,
    worker_id: str,
    address: str,
    workdir: str,
    collection_hash: str,
    token: str = "",
    extra_caps: dict[str, Any] | None = None,
    items: list[Any] | None = None,
) -> int:
    """Serve tests until the controller says stop. Returns the process exit code.

    ``items``: what the controller's indices index (``--collectors K``: the run's merged
    collection, holding this collector's items at their global indices); else
    ``session.items``."""
    config = session.config
    capture.restart_global_capture(config, workdir, worker_id)
    chan = Channel(connect(address))
    caps = capabilities()
    if extra_caps:
        caps.update(extra_caps)
    chan.send(
        {
            "t": "hello",
            "worker": worker_id,
            "pid": os.getpid(),
            "caps": caps,
            "hash": collection_hash,
            "version": PROTOCOL_VERSION,
            "token": token,
            "launch": os.environ.get("TESTFLEET_LAUNCH", ""),
        }
    )
    plugin = WorkerPlugin(config, chan)
    _quiet_controller_plugins(config)
    _trust_controller_dependencies()
    config.pluginmanager.register(plugin, "testfleet-worker")
    hardware.register(config)  # hardware: per-test GPUs (CUDA_VISIBLE_DEVICES), MPI-launched tests
    config.hook.pytest_testfleet_worker_started(config=config, worker_id=worker_id)
    if items is None:
        items = session.items
    q = WorkQueue(chan)
    queue = q.queue
    held = False
    pending: Done | None = None  # the last test's done message, not sent yet
    journal = WorkerJournal.from_env()  # results on disk before they are sent (--resume)
    ran = 0
    try:
        while True:
            # Run the head as soon as its next item is known, or known not to exist, or the
            # controller said it may start before its next item is known (a "late" batch).
            while (
                len(queue) < 2
                and not q.stopping
                and not (queue and queue[-1] is _FLUSH)
                and not (len(queue) == 1 and queue[0] == q.late_tail)
            ):
                if pending is not None:  # the controller must have the results before we wait
                    chan.queue_frame(pending.frame())
                    pending = None
                msg = chan.recv()
                assert msg is not None
                q.take(msg)
            for msg in chan.poll():
                q.take(msg)
            if not queue:
                break
            head = queue.popleft()
            if head is _FLUSH:
                continue
            nxt = queue[0] if queue else None
            nextitem: Any = items[nxt] if isinstance(nxt, int) else None
            if nxt is None and head == q.late_tail and not q.stopping:
                nextitem = LateNext(q, items, head)  # asked for when the test tears down
            plugin.current = head
            item = items[head]
            # One message per test: the previous test's results carry this start ("next"),
            # so the controller always knows which test is running.
            started = time.time()
            location = encode_location(item.location)  # JSON text: for "next" and the journal
            if pending is not None:
                chan.send_frame(pending.frame(head, started, location))
                pending = None
            else:
                chan.send({"t": "start", "i": head, "ts": started, "loc": item.location})
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if isinstance(nextitem, LateNext):
                nextitem = nextitem.resolve()
            held = nextitem is not None  # fixtures kept up for the next item
            if session.shouldfail or session.shouldstop:
                # -x/--maxfail reached by this worker's own tests (so the run's count has
                # reached it too), or a plugin stopped the session: run nothing more it holds.
                queue.clear()
                q.stopping = q.halted = True
            pending = plugin.done_message(head)
            if journal is not None:  # before it can be sent: what the controller may get is on disk
                journal.record(item.nodeid, started, location, pending.keywords, pending.reports)
            ran += 1
        if pending is not None:
            chan.queue_frame(pending.frame())
        if held:
            _teardown_all(session)
        config.hook.pytest_testfleet_worker_stopping(config=config, worker_id=worker_id)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        chan.send(
            {
                "t": "bye",
                "peak_rss_kb": usage.ru_maxrss,
                "tests": ran,
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            }
        )
    except ChannelClosed:
        return 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


class WorkQueue:
    """The worker's queue of test indices and what the controller said about it."""

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.queue: deque[Any] = deque()
        self.stopping = False
        self.halted = False
        # The last item of a "late" batch: it may start before its next item is known (the
        # controller keeps work back while estimates are weak); LateNext asks for it.
        self.late_tail: int | None = None

    def take(self, msg: dict[str, Any]) -> None:
        """Apply one controller message to the queue."""
        kind = msg["t"]
        if kind == "run" and not self.halted:  # items sent before the controller knew: not run
            self.queue.extend(msg["items"])
            self.late_tail = msg["items"][-1] if msg.get("late") else None
            hardware.remember(msg)  # hardware: a GPU test's environment
        elif kind == "flush" and not self.halted:
            self.queue.append(_FLUSH)
        elif kind == "unqueue":
            self.give_back(int(msg["n"]))
        elif kind == "stop":
            self.stopping = True
        elif kind == "halt":
            self.queue.clear()
            self.stopping = self.halted = True

    def give_back(self, n: int) -> None:
        """The controller takes back up to ``n`` tests not started yet, from the tail, for an
        idle worker; the next test (already the running one's ``nextitem``) stays. The reply
        ``returned`` lists them (maybe none: they started meanwhile). What is left becomes a
        late tail: it may start before its next item is known."""
        queue = self.queue
        keep = max(1, len(queue) - n)
        back: list[int] = []
        if not self.halted and all(isinstance(i, int) for i in queue):
            while len(queue) > keep:
                back.append(queue.pop())
            back.reverse()
            if back:
                self.late_tail = queue[-1]
        self.chan.send({"t": "returned", "items": back})


class LateNext:
    """Stands for the next item of a test started before it was known. pytest asks for it
    only when the test tears down (``teardown_exact(nextitem)`` reads ``listchain()``): then
    the worker asks the controller (``next``) and waits for a ``run``, ``flush``, ``stop``
    or ``halt``. Anything else a plugin reads is the real next item's."""

    def __init__(self, q: WorkQueue, items: list[pytest.Item], head: int) -> None:
        self._q = q
        self._items = items
        self._head = head
        self._done = False
        self._item: pytest.Item | None = None

    def resolve(self) -> pytest.Item | None:
        if self._done:
            return self._item
        q = self._q
        for msg in q.chan.poll():
            q.take(msg)
        if not q.queue and not q.stopping:
            q.chan.send({"t": "next", "i": self._head})
            while not q.queue and not q.stopping:
                reply = q.chan.recv()
                assert reply is not None
                q.take(reply)
        nxt = q.queue[0] if q.queue else None
        self._item = self._items[nxt] if isinstance(nxt, int) else None
        self._done = True
        return self._item

    def listchain(self) -> list[Any]:
        item = self.resolve()
        return item.listchain() if item is not None else []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)


def _teardown_all(session: pytest.Session) -> None:
    """The last test ran expecting a next one that will not come: tear its fixtures down."""
    state = getattr(session, "_setupstate", None)
    if state is None:
        return
    try:
        state.teardown_exact(None)
    except Exception:  # noqa: BLE001 - as pytest at session end: the error goes to the log
        traceback.print_exc()
