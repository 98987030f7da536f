"""Helpers for the toolkit's own tests: an echo server and node programs for ProcessCluster.

Node functions are module-level so a ProcessCluster can send them to a fresh interpreter by name.
Run as a script, this module is a heartbeat node configured from TESTFLEET_NODE_* variables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from testfleet.testing.node import NodeContext


class EchoServer:
    """A threaded TCP echo server on 127.0.0.1 that stops after ``lifetime`` seconds or on close()."""

    def __init__(self, lifetime: float = 60.0) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()
        self.sock.close()

    def _echo(self, conn: socket.socket) -> None:
        conn.settimeout(5.0)
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def beat_path(log_path: str | Path) -> Path:
    return Path(f"{log_path}.beat")


def read_beat(log_path: str | Path) -> int:
    try:
        return int(beat_path(log_path).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _serve_port(port: int) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            conn.close()

    threading.Thread(target=accept, daemon=True).start()


def heartbeat(node: NodeContext, lifetime: float = 120.0) -> None:
    """Listen on the node's port and write an increasing counter every 10 ms; exit after ``lifetime``."""
    print(
        f"started {node.name} index={node.index} ports={list(node.ports)} peers={list(node.peer_ports)} "
        f"restarts={node.restarts} args={sys.argv[1:]}",
        flush=True,
    )
    if node.ports:
        _serve_port(node.port)
    target = beat_path(node.log_path)
    tmp = target.with_suffix(".tmp")
    deadline = time.monotonic() + lifetime
    count = 0
    while time.monotonic() < deadline:
        count += 1
        tmp.write_text(str(count))
        os.replace(tmp, target)
        time.sleep(0.01)


def crash(node: NodeContext) -> None:
    print("boom: bad config", flush=True)
    raise SystemExit(3)


def with_child(node: NodeContext, code: str = "import time") -> None:
    """Start a grandchild (same process group), record its pid once it runs, then beat."""
    child = subprocess.Popen(
        [sys.executable, "-c", f"{code}; print('child up', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdout.readline() == b"child up\n"
    Path(f"{node.log_path}.child").write_text(str(child.pid))
    heartbeat(node)


def with_stubborn_child(node: NodeContext) -> None:
    """Like with_child, but the grandchild ignores SIGTERM."""
    with_child(node, "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)")


if __name__ == "__main__":
    heartbeat(NodeContext.from_env())
