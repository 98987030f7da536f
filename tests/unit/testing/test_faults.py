from __future__ import annotations

import socket
import time

import pytest
from toolkit_helpers import EchoServer

from testfleet.testing.errors import ProxyError, ToolkitUsageError
from testfleet.testing.faults import FaultProxy
from testfleet.testing.ports import PortRange
from testfleet.testing.waiting import eventually


def connect(proxy: FaultProxy, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(proxy.address, timeout=timeout)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return data


def recv_on_new_connection(proxy: FaultProxy) -> bytes:
    """Connect and read; the proxy's RST may arrive during connect() or during recv()."""
    with connect(proxy) as sock:
        return sock.recv(1)


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - started


def test_forwards_both_ways_and_propagates_half_close(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port) as proxy, connect(proxy) as client:
        client.sendall(b"hello")
        assert recv_exactly(client, 5) == b"hello"
        client.shutdown(socket.SHUT_WR)
        assert client.recv(10) == b""  # the server saw our EOF, closed, and we saw its EOF
        stats = eventually(lambda: (s := proxy.stats()).active == 0 and s, timeout=2)
        assert (stats.accepted, stats.bytes_upstream, stats.bytes_downstream) == (1, 5, 5)


def test_latency_adds_at_least_the_configured_delay(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port) as proxy, connect(proxy) as client:
        baseline = round_trip(client)
        proxy.set_latency(0.2)
        assert round_trip(client) >= 0.4  # 0.2 s each way
        proxy.set_latency(0.2, direction="upstream")
        proxy.set_latency(0.0, direction="downstream")
        one_way = round_trip(client)
        assert one_way >= 0.2
        proxy.heal()
        assert round_trip(client) < 0.2
    assert baseline < 0.2


def test_jitter_keeps_bytes_in_order(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port, seed=7) as proxy, connect(proxy) as client:
        proxy.set_latency(0.02, jitter=0.05)
        sent = b"".join(b"%03d," % i for i in range(40))
        for i in range(40):
            client.sendall(b"%03d," % i)
            time.sleep(0.001)  # separate chunks, each with its own random delay
        assert recv_exactly(client, len(sent)) == sent


def test_blackhole_holds_traffic_until_heal(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port) as proxy, connect(proxy, timeout=0.3) as client:
        round_trip(client)
        proxy.blackhole()
        client.sendall(b"lost?")
        with pytest.raises(TimeoutError):
            client.recv(10)
        assert proxy.stats().bytes_upstream == 4  # "ping" only: nothing forwarded during the partition
        proxy.heal()
        client.settimeout(5)
        assert recv_exactly(client, 5) == b"lost?"


def test_upstream_blackhole_does_not_even_connect_new_clients(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port) as proxy:
        proxy.blackhole("upstream")
        with connect(proxy, timeout=0.3) as client:
            client.sendall(b"x")
            with pytest.raises(TimeoutError):
                client.recv(1)
            assert echo_server.connections == 0
            proxy.heal()
            client.settimeout(5)
            assert client.recv(1) == b"x"
        assert echo_server.connections == 1


def test_reset_all_breaks_existing_connections(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port) as proxy, connect(proxy) as client:
        round_trip(client)
        assert proxy.reset_all() == 1
        with pytest.raises(ConnectionResetError):
            client.recv(10)
        with connect(proxy) as again:  # new connections still work
            round_trip(again)


def test_drop_new_resets_new_connections_only(echo_server: EchoServer) -> None:
    with FaultProxy(echo_server.port) as proxy, connect(proxy) as old:
        round_trip(old)
        proxy.drop_new()
        with pytest.raises(ConnectionResetError):
            recv_on_new_connection(proxy)
        round_trip(old)
        assert proxy.stats().dropped == 1
        proxy.drop_new(False)
        with connect(proxy) as newer:
            round_trip(newer)


def test_bandwidth_limit_slows_transfers(echo_server: EchoServer) -> None:
    payload = bytes(200_000)
    with FaultProxy(echo_server.port) as proxy, connect(proxy, timeout=10) as client:
        proxy.set_bandwidth(400_000, direction="upstream")
        started = time.monotonic()
        client.sendall(payload)
        assert recv_exactly(client, len(payload)) == payload
        assert time.monotonic() - started >= 0.45  # 200 kB at 400 kB/s


def test_unreachable_upstream_resets_the_client() -> None:
    dead = PortRange.probe(1).port(0)  # nothing listens there
    with FaultProxy(dead) as proxy, pytest.raises(ConnectionResetError):
        recv_on_new_connection(proxy)


def test_close_stops_listening() -> None:
    proxy = FaultProxy(1).start()
    port = proxy.port
    proxy.close()
    proxy.close()  # twice is fine
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    with pytest.raises(ProxyError, match="cannot be started again"):
        proxy.start()


def test_proxy_stops_by_itself_after_its_lifetime(echo_server: EchoServer) -> None:
    proxy = FaultProxy(echo_server.port, lifetime=0.2).start()
    port = proxy.port

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:
            return False  # accepted into the backlog as the listener closed: not refused yet
        return False

    eventually(refused, timeout=3)
    assert proxy.closed


def test_listens_on_a_port_from_the_range(echo_server: EchoServer) -> None:
    ports = PortRange.probe(5)
    with FaultProxy(echo_server.port, ports=ports) as proxy:
        assert proxy.port in ports
        assert proxy.address == ("127.0.0.1", proxy.port)


def test_misuse_is_reported() -> None:
    proxy = FaultProxy(1)
    with pytest.raises(ProxyError, match="not started"):
        _ = proxy.port
    with pytest.raises(ToolkitUsageError, match="direction must be"):
        proxy.blackhole("sideways")  # type: ignore[arg-type]
    with pytest.raises(ToolkitUsageError):
        proxy.set_latency(-1)
