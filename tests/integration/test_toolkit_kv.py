"""End to end: a real key-value server in a ProcessCluster, clients through a FaultProxy, a recorded
History, and the linearizability checker judging it -- once for a correct server, once for a buggy one.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
from pathlib import Path

import pytest

from testfleet.testing import (
    FaultProxy,
    History,
    PortRange,
    ProcessCluster,
    check_linearizable_kv,
    check_read_your_writes,
)

SERVER = r"""
import socket, sys, threading
from testfleet.testing.node import NodeContext

node = NodeContext.from_env()
stale_cache = "--stale-cache" in sys.argv  # the bug: each connection caches what it read once
data, lock = {}, threading.Lock()

def serve(conn):
    cache = {}
    with conn, conn.makefile("rw") as stream:
        for line in stream:
            cmd, key, *rest = line.split()
            with lock:
                if cmd == "GET":
                    value = cache[key] if stale_cache and key in cache else data.get(key, "nil")
                    cache[key] = value
                    reply = value
                else:  # PUT
                    data[key] = rest[0]
                    reply = "OK"
            stream.write(reply + "\n")
            stream.flush()

server = socket.create_server(("127.0.0.1", node.port))
server.settimeout(60)  # stops by itself when nobody connects for a minute
print("serving on", node.port, "stale" if stale_cache else "", flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


class Client:
    def __init__(self, port: int, name: str, history: History) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=1.0)
        self.stream = self.sock.makefile("rw")
        self.name = name
        self.history = history

    def get(self, key: str) -> None:
        with self.history.operation(self.name, "read", key) as op:
            self.stream.write(f"GET {key}\n")
            self.stream.flush()
            value = self.stream.readline().strip()
            op.ok(None if value == "nil" else value)

    def put(self, key: str, value: str) -> None:
        with self.history.operation(self.name, "write", key, value):
            self.stream.write(f"PUT {key} {value}\n")
            self.stream.flush()
            assert self.stream.readline().strip() == "OK"

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


def start_server(tmp_path: Path, *args: str) -> ProcessCluster:
    script = tmp_path / "kv_server.py"
    script.write_text(SERVER)
    cluster = ProcessCluster(
        [sys.executable, str(script), *args], 1, ports=PortRange.from_env(), log_dir=tmp_path
    )
    return cluster


def test_correct_server_under_latency_is_linearizable(tmp_path: Path) -> None:
    history = History()
    with start_server(tmp_path) as cluster, FaultProxy(cluster[0].port, seed=1) as proxy:
        cluster.wait_ready()
        proxy.set_latency(0.002, jitter=0.01)
        errors: list[BaseException] = []

        def work(i: int) -> None:
            rng = random.Random(i)
            client = Client(proxy.port, f"c{i}", history)
            try:
                for n in range(15):
                    key = rng.choice("xy")
                    if rng.random() < 0.5:
                        client.put(key, f"{i}-{n}")
                    else:
                        client.get(key)
            except BaseException as error:  # reported below, so a broken client fails the test
                errors.append(error)
            finally:
                client.close()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
    assert len(history.operations()) == 45
    check_linearizable_kv(history).assert_ok()
    check_read_your_writes(history).assert_ok()


def test_stale_cache_bug_is_caught_and_explained(tmp_path: Path) -> None:
    history = History()
    with start_server(tmp_path, "--stale-cache") as cluster, FaultProxy(cluster[0].port) as proxy:
        cluster.wait_ready()
        writer, reader = Client(proxy.port, "writer", history), Client(proxy.port, "reader", history)
        writer.put("k", "1")
        reader.get("k")  # the reader's connection caches 1
        writer.put("k", "2")
        reader.get("k")  # stale: 1 again, after 2 was acknowledged
        writer.close()
        reader.close()
    result = check_linearizable_kv(history)
    assert not result.ok
    assert result.ops[0].process == "reader" and result.ops[0].result == "1"
    assert "key 'k': not linearizable" in result.explanation
    with pytest.raises(AssertionError, match="VIOLATION"):
        result.assert_ok()
