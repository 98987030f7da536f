from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet import errors
from testfleet.testing.errors import NoFreePortError, PortRangeError
from testfleet.testing.identity import FleetWorker
from testfleet.testing.ports import (
    MAX_PORT,
    PortRange,
    port_is_free,
    ranges_for_workers,
    shared_range,
    worker_env,
)


def bind(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_port_indexes_into_the_range() -> None:
    r = PortRange(30000, 10)
    assert [r.port(0), r.port(9), r.port(-1)] == [30000, 30009, 30009]
    assert list(r) == list(range(30000, 30010))
    assert 30005 in r and 30010 not in r
    assert r.last == 30009 and len(r) == 10
    with pytest.raises(PortRangeError, match="port index 10"):
        r.port(10)


@pytest.mark.parametrize(("base", "count"), [(0, 10), (65530, 10), (1000, 0), (True, 3), (70000, 1)])
def test_invalid_ranges_are_usage_errors(base: int, count: int) -> None:
    with pytest.raises(PortRangeError) as info:
        PortRange(base, count)
    assert isinstance(info.value, errors.UsageError) and isinstance(info.value, errors.TestfleetError)


def test_free_port_skips_busy_ports_and_never_repeats() -> None:
    r = PortRange.probe(5)
    busy = bind(r.port(0))
    try:
        first = r.free_port()
        second = r.free_port()
        assert first == r.port(1)
        assert second == r.port(2)
        assert port_is_free(r.port(0)) is False
        assert port_is_free(first) is True
    finally:
        busy.close()


def test_free_port_raises_when_every_port_is_busy() -> None:
    r = PortRange.probe(3)
    socks = [bind(p) for p in r]
    try:
        with pytest.raises(NoFreePortError, match="all 3 ports"):
            r.free_port()
    finally:
        for s in socks:
            s.close()


def test_free_port_is_thread_safe() -> None:
    r = PortRange.probe(40)
    got: list[int] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(5):
            p = r.free_port()
            with lock:
                got.append(p)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(r)


def test_from_env_reads_the_controllers_range() -> None:
    r = PortRange.from_env({"TESTFLEET_PORT_BASE": "41000", "TESTFLEET_PORT_COUNT": "25"})
    assert r == PortRange(41000, 25)


def test_from_env_rejects_garbage_naming_the_variable() -> None:
    with pytest.raises(PortRangeError, match="TESTFLEET_PORT_BASE='abc'"):
        PortRange.from_env({"TESTFLEET_PORT_BASE": "abc", "TESTFLEET_WORKER": "w1"})


def test_from_env_without_testfleet_probes_a_free_range() -> None:
    r = PortRange.from_env({}, default_count=20)
    assert r.count == 20
    assert all(port_is_free(p) for p in r)


def test_ranges_for_workers_are_disjoint_and_contiguous() -> None:
    ranges = ranges_for_workers(4, 20000, 50)
    assert [r.base for r in ranges] == [20000, 20050, 20100, 20150]
    assert all(r.count == 50 for r in ranges)


def test_ranges_for_workers_rejects_ranges_past_65535() -> None:
    with pytest.raises(PortRangeError, match=r"need ports up to 65599.*at most 8 workers fit"):
        ranges_for_workers(10, 65000, 60)
    assert ranges_for_workers(1, MAX_PORT, 1) == [PortRange(MAX_PORT, 1)]  # the last port is usable


@given(
    n=st.integers(min_value=1, max_value=64),
    count=st.integers(min_value=1, max_value=2000),
    base=st.integers(min_value=1024, max_value=65535),
)
def test_ranges_for_workers_property(n: int, count: int, base: int) -> None:
    if base + n * count - 1 > MAX_PORT:
        with pytest.raises(PortRangeError):
            ranges_for_workers(n, base, count)
        return
    ranges = ranges_for_workers(n, base, count)
    ports = [p for r in ranges for p in r]
    assert len(ports) == len(set(ports)) == n * count
    assert min(ports) == base and max(ports) <= MAX_PORT


def test_worker_env_round_trips_through_from_env() -> None:
    env = worker_env("w3", 8, PortRange(42000, 30))
    assert PortRange.from_env(env) == PortRange(42000, 30)
    worker = FleetWorker.from_env(env)
    assert (worker.id, worker.count, worker.index, worker.in_fleet) == ("w3", 8, 3, True)


def test_worker_outside_testfleet_is_local() -> None:
    worker = FleetWorker.from_env({})
    assert (worker.id, worker.count, worker.in_fleet) == ("local", 1, False)


def test_shared_range_is_one_object_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTFLEET_PORT_BASE", "44000")
    monkeypatch.setenv("TESTFLEET_PORT_COUNT", "10")
    first = shared_range()
    assert first is shared_range() and first == PortRange(44000, 10)
    monkeypatch.setenv("TESTFLEET_PORT_BASE", "45000")
    assert shared_range() == PortRange(45000, 10)
