"""Controller-only benchmark: how many results per second one controller loop settles.

A real controller (``pytest --fleet N``: the real scheduler, dispatch, report rebuilding,
terminal output) runs against N fake workers that answer instantly over real sockets in
testfleet's message protocol (``messages.py``: ``hello``, ``start``, ``done`` with ``next``,
``bye``). No test runs anywhere: what is measured is the controller.

How the fake fleet gets in (the test hook; the core helper keeps these stable):

- This module is loaded into the controller's pytest as a plugin (``-p controller_only``,
  with ``benchmarks/`` on ``PYTHONPATH``). Its ``pytest_configure`` replaces
  ``testfleet.executor.make_executor`` (the controller looks it up when its run starts) with
  a factory for :class:`FakeExecutor`. Nothing else of testfleet is touched.
- :class:`FakeExecutor` implements every member of the executor protocol
  (``testfleet.executor.protocol.Executor``: ``settings``, ``listeners``, ``placed``,
  ``early_workers``, ``collector_health``, ``can_start``, ``lost``, ``exited``, ``pause``...),
  most of them as the local executor answers them; :class:`FakeRayExecutor` is ``placed``, so
  the controller takes the Ray executor's path (planned slots, workers over TCP). Its
  ``start_collector`` starts one *fleet process* (this file, ``--fleet-process``):
  it connects as the collector and sends a ``collected`` message of ``--tests`` items, then
  answers the controller's ``fork`` requests by connecting one socket per fake worker.
- Each fake worker behaves as ``worker/loop.py`` does: it runs the head of its queue once the
  next item is known (or a ``flush``/``stop`` says there is none, or it is the tail of a
  ``late`` batch: then it asks for its next item with ``next`` and waits for the answer),
  answers with the previous test's ``done`` carrying ``next``, gives unstarted tests back on
  ``unqueue`` (``returned``), and on ``stop`` sends ``bye`` and closes; the fleet then
  reports the exit on the collector channel (``exited``), as the real collector does. (A fake
  worker that ignores ``late`` or ``unqueue`` waits forever for an item or an answer that
  never comes, and so does the controller: the run hangs.)

The rate is the number of tests over the time from the first ``start_worker`` call (the
scheduler is built) to ``shutdown`` (the loop has settled every test), with the controller's
CPU time over the same span; the fleet process also counts the ``run`` messages and the
items they carried (how the controller batches work out).

Run (from the repository root, the project's venv active):

    python benchmarks/controller_only.py --workers 16,256 --tests 100000
    python benchmarks/controller_only.py --workers 256 --like local   # AF_UNIX, the local path
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_HEADER = struct.Struct(">I")
FLUSH = -1
# What each fake test reports (seconds): short tests, so the controller batches (its
# PREFETCH_SECONDS / MAX_DEPTH logic sees ~0.3 ms tests).
SETUP, CALL, TEARDOWN = 0.00005, 0.0002, 0.00005
EXIT_DELAY = 0.02


# ===================================================================== controller side
class FakeExecutor:
    """The executor the controller gets in this benchmark (see the module docstring)."""

    backend = "fake-local"
    transport = "unix"
    placed = False  # the controller's own slots (the local executor's path)

    def __init__(self, config: Any, settings: Any) -> None:
        self.settings = settings  # nothing left open to settle: the run's own
        self.workdir = tempfile.mkdtemp(prefix="tf-bench-")
        self.token = "bench"
        self.timings: dict[str, Any] = {}
        if self.transport == "tcp":
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.bind(("127.0.0.1", 0))
            self.address = f"tcp:127.0.0.1:{self.listener.getsockname()[1]}"
        else:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            path = os.path.join(self.workdir, "ctl.sock")
            self.listener.bind(path)
            self.address = path
        self.listener.listen(1024)
        self.listener.setblocking(False)
        self.listeners = [self.listener]
        self.proc: subprocess.Popen[bytes] | None = None
        self.chan: Any = None
        self._first: tuple[float, float] | None = None

    def start_collector(self) -> None:
        out = open(os.path.join(self.workdir, "fleet.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--fleet-process", self.address, self.token,
             os.environ["TF_BENCH_TESTS"], os.environ["TF_BENCH_STATS"]],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()

    def attach_collector(self, chan: Any) -> None:
        self.chan = chan

    def collector_log(self, limit: int = 4000) -> str:
        try:
            return Path(self.workdir, "fleet.log").read_text()[-limit:]
        except OSError:
            return ""

    def collector_exit(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def collector_health(self) -> str | None:
        code = self.collector_exit()
        return None if code is None else f"the fake fleet exited with code {code}"

    def early_workers(self) -> int:
        return 0

    def plan(self, specs: Any) -> bool:
        return True

    def slot_caps(self, slot: int) -> dict[str, Any]:
        return {}

    def can_start(self, slot: int) -> bool:
        return True

    def lost(self, worker_id: str) -> dict[str, Any] | None:
        return None

    def forked_pid(self, worker_id: str) -> int | None:
        return None

    def exited(self, worker_id: str) -> bool:
        return False  # the fleet reports every exit (``exited``)

    def pause(self, worker_id: str) -> bool:
        return False

    def resume(self, worker_id: str) -> bool:
        return False

    def start_worker(self, worker_id: str, env: dict[str, str]) -> None:
        if self._first is None:
            self._first = (time.perf_counter(), time.process_time())
        self.chan.send({"t": "fork", "worker": worker_id, "env": {"TESTFLEET_LAUNCH": env["TESTFLEET_LAUNCH"]}})

    def forked(self, worker_id: str, pid: int) -> None:
        pass

    def poll_exits(self) -> list[tuple[str, str]]:
        return []

    def kill(self, worker_id: str) -> None:
        self.chan.send({"t": "kill", "worker": worker_id})

    def dump_stacks(self, worker_id: str, wait: float = 1.0) -> str:
        return ""

    def worker_file(self, worker_id: str, suffix: str) -> str:
        return os.path.join(self.workdir, f"{worker_id}.{suffix}")

    def shutdown(self, wait: float = 5.0) -> None:
        if self._first is not None:
            self.timings["loop_wall"] = time.perf_counter() - self._first[0]
            self.timings["loop_cpu"] = time.process_time() - self._first[1]
        if self.chan is not None:
            try:
                self.chan.send({"t": "shutdown"})
            except Exception:  # noqa: BLE001 - the fleet is gone already
                pass
        if self.proc is not None:
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.listener.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class FakeRayExecutor(FakeExecutor):
    """The Ray executor's path: workers over TCP, slots planned before any worker starts."""

    backend = "fake-ray"
    transport = "tcp"
    placed = True

    def plan(self, specs: Any) -> bool:
        return True

    def slot_caps(self, slot: int) -> dict[str, Any]:
        return {"cpus": 1, "tags": []}


def pytest_configure(config: Any) -> None:
    """The test hook: the controller's ``make_executor`` gives the fake executor."""
    import testfleet.executor

    cls = FakeRayExecutor if os.environ.get("TF_BENCH_LIKE", "ray") == "ray" else FakeExecutor
    testfleet.executor.make_executor = cls  # type: ignore[assignment]


# ===================================================================== the fake fleet
def frame(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return _HEADER.pack(len(data)) + data


def framed(text: str) -> bytes:
    data = text.encode()
    return _HEADER.pack(len(data)) + data


class Conn:
    """One socket with framed JSON in and out (non-blocking reads, blocking writes)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def read(self) -> list[dict[str, Any]] | None:
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return []
        except OSError:
            return None
        if not data:
            return None
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (n,) = _HEADER.unpack_from(self.buf)
            if len(self.buf) < 4 + n:
                break
            out.append(json.loads(bytes(self.buf[4:4 + n])))
            del self.buf[:4 + n]
        return out

    def write(self, data: bytes) -> None:
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)


class FakeWorker:
    def __init__(self, wid: str, conn: Conn) -> None:
        self.wid = wid
        self.conn = conn
        self.queue: deque[int] = deque()
        self.pending: int | None = None  # the last test run, its done not sent yet
        self.stopping = False
        self.halted = False
        self.ran = 0
        # The last item of a "late" batch: it may start before its next item is known.
        self.late_tail: int | None = None
        self.asking = False  # asked for the next item ("next") of a late tail; waits for it

    def take(self, msg: dict[str, Any], stats: dict[str, int]) -> bytes | None:
        """Apply one controller message (as ``worker/loop.py``'s WorkQueue does); a reply, if any."""
        kind = msg["t"]
        if kind == "run" and not self.halted:
            self.queue.extend(msg["items"])
            self.late_tail = msg["items"][-1] if msg.get("late") else None
            stats["run_messages"] += 1
            stats["run_items"] += len(msg["items"])
        elif kind == "flush" and not self.halted:
            self.queue.append(FLUSH)
            stats["flushes"] += 1
        elif kind == "unqueue":  # give back up to n unstarted tests from the tail
            keep = max(1, len(self.queue) - int(msg["n"]))
            back: list[int] = []
            if not self.halted and FLUSH not in self.queue:
                while len(self.queue) > keep:
                    back.append(self.queue.pop())
                back.reverse()
                if back:
                    self.late_tail = self.queue[-1]
            stats["returned"] = stats.get("returned", 0) + len(back)
            return frame({"t": "returned", "items": back})
        elif kind == "stop":
            self.stopping = True
        elif kind == "halt":
            self.queue.clear()
            self.stopping = self.halted = True
        return None


def done_text(i: int, nxt: int | None, now: float) -> str:
    a, b = now - SETUP - CALL - TEARDOWN, now - CALL - TEARDOWN
    c = now - TEARDOWN
    tail = "" if nxt is None else f',"next":[{nxt},{now},["test_fake.py",{nxt % 1000 + 1},"t{nxt}"]]'
    return (f'{{"t":"done","i":{i},"r":[["setup","passed",{SETUP},{a},{b}],["call","passed",{CALL},{b},{c}],'
            f'["teardown","passed",{TEARDOWN},{c},{now}]],"kw":["t{i}","test_fake.py","bench"]{tail}}}')


def advance(w: FakeWorker) -> tuple[list[bytes], bool]:
    """Run what the worker may run now (as worker/loop.py would); its messages, and whether it exits."""
    out: list[bytes] = []
    now = time.time()
    if w.asking:  # the late tail's teardown waits for its next item (worker/loop.py LateNext)
        if not w.queue and not w.stopping:
            return out, False
        w.asking = False
    while True:
        if (len(w.queue) < 2 and not w.stopping and not (w.queue and w.queue[-1] == FLUSH)
                and not (len(w.queue) == 1 and w.queue[0] == w.late_tail)):
            if w.pending is not None:  # the controller must have the results before we wait
                out.append(framed(done_text(w.pending, None, now)))
                w.pending = None
            return out, False
        if not w.queue:
            if w.pending is not None:
                out.append(framed(done_text(w.pending, None, now)))
                w.pending = None
            out.append(frame({"t": "bye", "peak_rss_kb": 0, "tests": w.ran, "cpu_seconds": 0.0}))
            return out, True
        head = w.queue.popleft()
        if head == FLUSH:
            continue
        if w.pending is not None:
            out.append(framed(done_text(w.pending, head, now)))
        else:
            out.append(frame({"t": "start", "i": head, "ts": now, "loc": ["test_fake.py", head % 1000 + 1, f"t{head}"]}))
        w.pending = head
        w.ran += 1
        if not w.queue and head == w.late_tail and not w.stopping:
            # Started before its next item was known: it asks for it when it tears down.
            out.append(frame({"t": "next", "i": head}))
            w.asking = True
            return out, False


def fleet_process(address: str, token: str, tests: int, stats_path: str) -> None:
    """The collector and every fake worker, in one process around a selector."""

    def connect() -> socket.socket:
        if address.startswith("tcp:"):
            host, _, port = address[4:].rpartition(":")
            s = socket.create_connection((host, int(port)))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(address)
        s.setblocking(False)
        return s

    sel = selectors.DefaultSelector()
    collector = Conn(connect())
    collector.write(frame({"t": "collected", "role": "collector", "token": token,
                           "items": [f"test_fake.py::t{i}" for i in range(tests)], "extra": {}, "errors": [],
                           "deselected": [], "hash": "fake", "seconds": 0.0, "pid": os.getpid()}))
    sel.register(collector.sock, selectors.EVENT_READ, None)
    workers: dict[str, FakeWorker] = {}
    stats = {"run_messages": 0, "run_items": 0, "writes": 0, "flushes": 0, "workers": 0, "ran": 0}
    ran: set[int] = set()

    exits: deque[tuple[float, bytes]] = deque()

    def gone(w: FakeWorker, status: str) -> None:
        sel.unregister(w.conn.sock)
        w.conn.sock.close()
        del workers[w.wid]
        # A real exit is seen a little after the worker's socket closes (the collector's
        # waitpid): reported EXIT_DELAY later, so its last messages are read first.
        exits.append((time.monotonic() + EXIT_DELAY, frame({"t": "exited", "worker": w.wid, "pid": os.getpid(),
                                                            "status": status})))

    while True:
        now = time.monotonic()
        while exits and exits[0][0] <= now:
            collector.write(exits.popleft()[1])
        for key, _ in sel.select(EXIT_DELAY / 2 if exits else 1.0):
            if key.data is None:
                msgs = collector.read()
                if msgs is None:
                    msgs = [{"t": "shutdown"}]
                for msg in msgs:
                    if msg["t"] == "fork":
                        w = FakeWorker(msg["worker"], Conn(connect()))
                        workers[w.wid] = w
                        stats["workers"] += 1
                        w.conn.write(frame({"t": "hello", "worker": w.wid, "pid": os.getpid(), "caps": {"cpus": 1},
                                            "hash": "fake", "version": PROTOCOL_VERSION, "token": token,
                                            "launch": msg["env"].get("TESTFLEET_LAUNCH", "")}))
                        sel.register(w.conn.sock, selectors.EVENT_READ, w)
                    elif msg["t"] == "kill" and msg["worker"] in workers:
                        gone(workers[msg["worker"]], "killed by signal 9 (SIGKILL)")
                    elif msg["t"] == "shutdown":
                        stats["distinct"] = len(ran)
                        Path(stats_path).write_text(json.dumps(stats))
                        return
                continue
            w = key.data
            if w.wid not in workers:
                continue
            msgs = w.conn.read()
            if msgs is None:
                gone(w, "exited with code 70")
                continue
            replies: list[bytes] = []
            for msg in msgs:
                if msg["t"] == "run" and not w.halted:
                    ran.update(msg["items"])
                reply = w.take(msg, stats)
                if reply is not None:
                    replies.append(reply)
            before = w.ran
            out, leaving = advance(w)
            out = replies + out
            stats["ran"] += w.ran - before
            if out:
                w.conn.write(b"".join(out))
                stats["writes"] += 1
            if leaving:
                gone(w, "exited with code 0")


PROTOCOL_VERSION = 0  # set from testfleet.messages in the fleet process (see main)


# ===================================================================== driver
def run_once(workers: int, tests: int, like: str, python: str, timeout: float = 900) -> dict[str, Any]:
    """One controller run against ``workers`` fake workers; a run past ``timeout`` seconds
    (a controller and a fleet waiting on each other) raises ``subprocess.TimeoutExpired``."""
    with tempfile.TemporaryDirectory(prefix="tf-bench-run-") as tmp:
        root = Path(tmp)
        (root / "pytest.ini").write_text("[pytest]\n")
        report, stats = root / "report.json", root / "stats.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTFLEET_", "PYTEST_ADDOPTS"))}
        env.update(TF_BENCH_TESTS=str(tests), TF_BENCH_STATS=str(stats), TF_BENCH_LIKE=like,
                   PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        cmd = [python, "-m", "pytest", "-p", "controller_only", "--fleet", str(workers), "--fleet-db", "none",
               "--fleet-report-json", str(report), "-q", "-p", "no:cacheprovider"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
        wall = time.perf_counter() - t0
        if not report.exists():
            raise SystemExit(f"no report from the controller (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
        data = json.loads(report.read_text())
        fleet = json.loads(stats.read_text()) if stats.exists() else {}
    ex = data.get("executor", {})
    loop_wall, loop_cpu = float(ex.get("loop_wall", 0.0)), float(ex.get("loop_cpu", 0.0))
    return {
        "workers": workers, "tests": tests, "like": like, "exit": proc.returncode, "counts": data.get("counts"),
        "wall": round(wall, 2), "loop_wall": round(loop_wall, 3), "loop_cpu": round(loop_cpu, 3),
        "results_per_s": round(tests / loop_wall) if loop_wall else None,
        "controller_us_per_test": round(loop_cpu / tests * 1e6, 1),
        "items_per_run_message": round(fleet["run_items"] / max(1, fleet["run_messages"]), 1) if fleet else None,
        "fleet": fleet,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--fleet-process":
        global PROTOCOL_VERSION
        from testfleet.messages import PROTOCOL_VERSION as version

        PROTOCOL_VERSION = version
        fleet_process(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="16,256", help="comma list of fake fleet sizes (default 16,256)")
    parser.add_argument("--tests", type=int, default=100_000, help="tests per run (default 100000)")
    parser.add_argument("--like", default="ray", help="ray (TCP, placed slots; default), local (AF_UNIX), or both")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    ns = parser.parse_args()
    likes = ["ray", "local"] if ns.like == "both" else [ns.like]
    results = []
    for like in likes:
        for n in (int(x) for x in ns.workers.split(",")):
            r = run_once(n, ns.tests, like, ns.python)
            results.append(r)
            sys.stdout.write(
                f"{like:5} {n:4} fake workers, {ns.tests} tests: {r['results_per_s']} results/s "
                f"(loop {r['loop_wall']} s wall, {r['loop_cpu']} s controller CPU = "
                f"{r['controller_us_per_test']} us/test), {r['items_per_run_message']} items per run message, "
                f"counts {r['counts']}, exit {r['exit']}\n")
            sys.stdout.flush()
    if ns.json:
        Path(ns.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
