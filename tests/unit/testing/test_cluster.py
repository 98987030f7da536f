from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import toolkit_helpers
from toolkit_helpers import crash, heartbeat, read_beat, with_child, with_stubborn_child

from testfleet.testing.cluster import Node, ProcessCluster
from testfleet.testing.errors import ClusterError, ToolkitUsageError
from testfleet.testing.ports import PortRange
from testfleet.testing.waiting import eventually


def beat(node: Node) -> int:
    return read_beat(node.log_path)


def advances(node: Node) -> Callable[[], bool]:
    start = beat(node)
    return lambda: beat(node) > start + 3


def stops_advancing(node: Node, window: float = 0.3) -> Callable[[], bool]:
    """True once the heartbeat has not changed for ``window`` seconds (checked repeatedly, with a deadline)."""
    seen = {"value": beat(node), "since": time.monotonic()}

    def check() -> bool:
        value = beat(node)
        if value != seen["value"]:
            seen["value"], seen["since"] = value, time.monotonic()
        return time.monotonic() - seen["since"] >= window

    return check


def is_dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie nobody reaped is dead too


@pytest.fixture
def ports() -> PortRange:
    return PortRange.probe(20)


def test_pause_stops_the_heartbeat_and_resume_restarts_it(tmp_path: Path, ports: PortRange) -> None:
    with ProcessCluster(heartbeat, 2, ports=ports, log_dir=tmp_path) as cluster:
        cluster.wait_ready()  # both nodes accept TCP on their port
        eventually(advances(cluster[0]), timeout=5)
        cluster.pause(0)
        assert cluster[0].paused and cluster.alive() == [0, 1]
        eventually(stops_advancing(cluster[0]), timeout=5, message="paused node keeps beating")
        eventually(advances(cluster[1]), timeout=5, message="the other node must keep beating")
        frozen = beat(cluster[0])
        assert beat(cluster[0]) == frozen
        cluster.resume(0)
        assert not cluster[0].paused
        eventually(advances(cluster[0]), timeout=5, message="resumed node does not beat")


def test_kill_and_restart_keep_the_ports(tmp_path: Path, ports: PortRange) -> None:
    with ProcessCluster(heartbeat, 3, ports=ports, log_dir=tmp_path) as cluster:
        cluster.wait_ready()
        old_pid, old_ports = cluster[1].pid, cluster[1].ports
        assert cluster.kill(1) == -signal.SIGKILL
        assert cluster.alive() == [0, 2]
        assert cluster[1].returncode == -signal.SIGKILL
        eventually(stops_advancing(cluster[1]), timeout=5)
        cluster.restart(1)
        assert cluster[1].pid != old_pid and cluster[1].ports == old_ports and cluster[1].restarts == 1
        cluster.wait_ready(nodes=[1])
        eventually(advances(cluster[1]), timeout=5)
        log = cluster[1].log_text()
        assert "restarts=0" in log and "--- testfleet: restart 1 of node1 ---" in log and "restarts=1" in log


def test_nodes_get_distinct_ports_from_the_range_and_know_their_peers(
    tmp_path: Path, ports: PortRange
) -> None:
    with ProcessCluster(heartbeat, 3, ports=ports, ports_per_node=2, log_dir=tmp_path) as cluster:
        all_ports = [p for node in cluster.nodes for p in node.ports]
        assert len(set(all_ports)) == 6 and all(p in ports for p in all_ports)
        cluster.wait_ready()
        peers = [cluster[1].port, cluster[2].port]
        eventually(lambda: f"peers={peers}" in cluster[0].log_text(), timeout=5)


def test_command_nodes_read_the_environment_and_get_extra_args(tmp_path: Path, ports: PortRange) -> None:
    command = [sys.executable, toolkit_helpers.__file__]
    with ProcessCluster(
        command, 2, ports=ports, log_dir=tmp_path, args_for=lambda node: ["--id", node.name]
    ) as cluster:
        cluster.wait_ready()
        eventually(advances(cluster[1]), timeout=5)
        log = cluster[1].log_text()
        assert f"started node1 index=1 ports=[{cluster[1].port}]" in log
        assert "args=['--id', 'node1']" in log
        assert cluster.kill(0, signal.SIGTERM) == -signal.SIGTERM


def test_kill_reaches_the_whole_process_group(tmp_path: Path, ports: PortRange) -> None:
    with ProcessCluster(with_child, 1, ports=ports, log_dir=tmp_path) as cluster:
        child_file = Path(f"{cluster[0].log_path}.child")
        # the file appears before its pid is written: wait for the text, not the file
        child = int(eventually(lambda: child_file.exists() and child_file.read_text().strip(), timeout=5))
        assert not is_dead(child)
        cluster.kill(0)
        eventually(lambda: is_dead(child), timeout=5, message="grandchild survived the group kill")


def test_leftovers_of_a_node_are_killed_once_it_exits(tmp_path: Path, ports: PortRange) -> None:
    with ProcessCluster(with_stubborn_child, 1, ports=ports, log_dir=tmp_path) as cluster:
        child_file = Path(f"{cluster[0].log_path}.child")
        # the file appears before its pid is written: wait for the text, not the file
        child = int(eventually(lambda: child_file.exists() and child_file.read_text().strip(), timeout=5))
        assert cluster.kill(0, signal.SIGTERM) == -signal.SIGTERM  # the child ignores SIGTERM...
        eventually(lambda: is_dead(child), timeout=5, message="SIGTERM-ignoring grandchild survived")


def test_failing_test_cleans_up_and_shows_the_logs(tmp_path: Path, ports: PortRange) -> None:
    # the cluster exits first (cleaning up, adding its logs as notes), then pytest.raises catches
    with (
        pytest.raises(RuntimeError, match="the test failed") as info,
        ProcessCluster(with_child, 2, ports=ports, log_dir=tmp_path) as cluster,
    ):
        cluster.wait_ready()
        cluster.pause(1)  # a stopped group must be cleaned up too
        child = int(Path(f"{cluster[0].log_path}.child").read_text())
        raise RuntimeError("the test failed")
    pids = [node.pid for node in cluster.nodes]
    assert cluster.alive() == []
    assert all(pid is not None and is_dead(pid) for pid in pids)
    eventually(lambda: is_dead(child), timeout=5)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "----- node0" in notes and "started node0" in notes and "started node1" in notes


def test_wait_ready_fails_fast_with_the_log_of_a_crashed_node(tmp_path: Path) -> None:
    started = time.monotonic()
    crashed = r"(?s)exited with status 3 before it was ready.*boom: bad config"
    with (
        ProcessCluster(crash, 1, ports_per_node=0, log_dir=tmp_path) as cluster,
        pytest.raises(ClusterError, match=crashed),
    ):
        cluster.wait_ready(lambda node: False, timeout=30)
    assert time.monotonic() - started < 15


def test_wait_ready_times_out_naming_the_nodes(tmp_path: Path, ports: PortRange) -> None:
    not_ready = "nodes not ready after 0.3s: node1"
    with (
        ProcessCluster(heartbeat, 2, ports=ports, log_dir=tmp_path) as cluster,
        pytest.raises(ClusterError, match=not_ready),
    ):
        cluster.wait_ready(lambda node: node.index == 0, timeout=0.3)


def test_misuse_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ToolkitUsageError, match="argv list, not a string"):
        ProcessCluster("python server.py", 1)  # type: ignore[arg-type]
    with pytest.raises(ToolkitUsageError, match="at least one node"):
        ProcessCluster(heartbeat, 0)
    cluster = ProcessCluster(lambda node: None, 1, ports_per_node=0, log_dir=tmp_path)
    with pytest.raises(ClusterError, match="use a module-level function"):
        cluster.start()
    with pytest.raises(ToolkitUsageError, match="no node 5"):
        cluster.kill(5)
    with pytest.raises(ClusterError, match="not running"):
        cluster.pause(0)


def test_stop_is_idempotent_and_nodes_are_gone(tmp_path: Path, ports: PortRange) -> None:
    cluster = ProcessCluster(heartbeat, 1, ports=ports, log_dir=tmp_path).start()
    cluster.wait_ready()
    pid = cluster[0].pid
    assert pid is not None
    cluster.stop()
    cluster.stop()
    assert is_dead(pid) and cluster.alive() == []
    assert os.path.exists(cluster[0].log_path)  # logs stay for the failure report
