"""Start, break and clean up a small cluster of local processes from inside a test.

::

    with ProcessCluster(["python", "-m", "myservice"], 3, ports=fleet_ports) as cluster:
        cluster.wait_ready()            # every node accepts TCP on its first port
        cluster.pause(0)                # SIGSTOP its whole process group
        ...
        cluster.resume(0)

Each node runs in its own session (its own process group); ``kill``/``pause``/``resume`` signal the
whole group. Output goes to one log file per node; when the ``with`` block fails, the tail of every
log is attached to the exception as a note, so pytest shows it next to the failure.
"""

from __future__ import annotations

import atexit
import signal as _signal
import socket
import tempfile
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from testfleet.testing.errors import ClusterError, ToolkitUsageError
from testfleet.testing.node import (
    NodeContext,
    NodeTarget,
    _Process,
    launch,
    signal_group,
    wait_stopped_state,
)
from testfleet.testing.ports import LOOPBACK, PortRange, shared_range
from testfleet.testing.waiting import eventually

_LIVE_GROUPS: set[int] = set()  # process groups of every node still running, in this process


@atexit.register
def _kill_leftovers() -> None:
    for pgid in list(_LIVE_GROUPS):
        signal_group(pgid, _signal.SIGKILL)
    _LIVE_GROUPS.clear()


class Node:
    """The test's handle on one node: ports, log file, process state."""

    def __init__(self, index: int, name: str, ports: tuple[int, ...], log_path: Path) -> None:
        self.index = index
        self.name = name
        self.ports = ports
        self.log_path = log_path
        self.restarts = 0
        self.paused = False
        self._process: _Process | None = None

    def __repr__(self) -> str:
        state = "paused" if self.paused else ("running" if self.running else f"exited({self.returncode})")
        return f"<Node {self.name} pid={self.pid} ports={self.ports} {state}>"

    @property
    def port(self) -> int:
        if not self.ports:
            raise ClusterError(f"node {self.name} has no ports; create the cluster with ports_per_node >= 1")
        return self.ports[0]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal); None while running or never started."""
        return self._process.poll() if self._process else None

    @property
    def running(self) -> bool:
        """Started and not exited (a paused node is running)."""
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def port_accepts(node: Node, timeout: float = 0.2) -> bool:
    """True if the node's first port accepts a TCP connection on 127.0.0.1 (the default ready check)."""
    try:
        with socket.create_connection((LOOPBACK, node.port), timeout=timeout):
            return True
    except OSError:
        return False


class ProcessCluster:
    """``n`` nodes running ``target``: a command (argv list) or a module-level Python callable.

    A callable is called in a fresh Python process with its :class:`NodeContext`; a command gets the
    same facts as ``TESTFLEET_NODE_*`` environment variables (and ``args_for(context)`` appended to its
    argv). Each node gets ``ports_per_node`` ports from ``ports`` (default: this worker's range).
    """

    def __init__(
        self,
        target: Sequence[str] | NodeTarget,
        n: int = 3,
        *,
        ports: PortRange | None = None,
        ports_per_node: int = 1,
        log_dir: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        name: str = "node",
        args_for: Callable[[NodeContext], Sequence[str]] | None = None,
        stop_grace: float = 1.0,
    ) -> None:
        if isinstance(target, str):
            raise ToolkitUsageError(f"command must be an argv list, not a string: use {target.split()!r}")
        if not callable(target) and not (isinstance(target, Sequence) and target):
            raise ToolkitUsageError(f"target must be a non-empty argv list or a callable, got {target!r}")
        if n < 1:
            raise ToolkitUsageError(f"ProcessCluster(n={n}): a cluster needs at least one node")
        if ports_per_node < 0:
            raise ToolkitUsageError(f"ports_per_node must be >= 0, got {ports_per_node}")
        self._target = target
        self._env = dict(env or {})
        self._cwd = str(cwd) if cwd is not None else None
        self._args_for = args_for
        self._stop_grace = stop_grace
        self.log_dir = (
            Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="testfleet-cluster-"))
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port_range = ports if ports is not None else (shared_range() if ports_per_node else None)
        self.nodes: list[Node] = []
        for i in range(n):
            node_ports = tuple(port_range.free_port() for _ in range(ports_per_node)) if port_range else ()
            self.nodes.append(Node(i, f"{name}{i}", node_ports, self.log_dir / f"{name}{i}.log"))
        self._groups: set[int] = set()  # process groups not yet cleaned up
        weakref.finalize(self, _kill_groups, self._groups)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, i: int) -> Node:
        return self.nodes[i]

    def __enter__(self) -> ProcessCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc is not None:
            exc.add_note(self.log_report())

    def context(self, i: int) -> NodeContext:
        node = self.nodes[i]
        return NodeContext(
            index=i,
            name=node.name,
            ports=node.ports,
            peers=tuple(n.ports for n in self.nodes),
            log_path=str(node.log_path),
            restarts=node.restarts,
        )

    def start(self) -> ProcessCluster:
        """Start every node that is not running."""
        for node in self.nodes:
            if not node.running:
                self._launch(node)
        return self

    def _launch(self, node: Node) -> None:
        context = self.context(node.index)
        extra = list(self._args_for(context)) if self._args_for else []
        node._process = launch(self._target, context, extra_args=extra, env=self._env, cwd=self._cwd)
        node.paused = False
        if node.pid is not None:
            _LIVE_GROUPS.add(node.pid)
            self._groups.add(node.pid)

    def _clean_group(self, node: Node) -> None:
        """SIGKILL whatever is left in the node's group once its main process has exited."""
        if node.pid is not None and node.pid in self._groups:
            signal_group(node.pid, _signal.SIGKILL)
            self._groups.discard(node.pid)
            _LIVE_GROUPS.discard(node.pid)
        node.paused = False

    def _node(self, i: int) -> Node:
        try:
            return self.nodes[i]
        except IndexError:
            raise ToolkitUsageError(f"no node {i}: the cluster has nodes 0..{len(self.nodes) - 1}") from None

    def alive(self) -> list[int]:
        """Indices of nodes whose process is running (paused nodes included)."""
        return [node.index for node in self.nodes if node.running]

    def signal(self, i: int, sig: int) -> None:
        """Send ``sig`` to node ``i``'s whole process group, without waiting for anything."""
        node = self._node(i)
        if node.pid is None or not node.running:
            raise ClusterError(f"node {node.name} is not running (exit status {node.returncode})")
        signal_group(node.pid, sig)

    def kill(self, i: int, sig: int = _signal.SIGKILL, timeout: float = 5.0) -> int:
        """Send ``sig`` (default SIGKILL) to node ``i``'s group and wait for the node to exit.

        Returns its exit status. A paused node is continued after a catchable signal so it can act on it.
        """
        node = self._node(i)
        if node.pid is None or not node.running:
            raise ClusterError(f"node {node.name} is not running (exit status {node.returncode})")
        signal_group(node.pid, sig)
        if node.paused and sig != _signal.SIGKILL:
            signal_group(node.pid, _signal.SIGCONT)
        assert node._process is not None
        status = node._process.wait(timeout)
        if status is None:
            raise ClusterError(
                f"node {node.name} (pid {node.pid}) did not exit within {timeout}s of signal {sig}"
            )
        self._clean_group(node)
        return status

    def pause(self, i: int) -> None:
        """SIGSTOP node ``i``'s group: it keeps its sockets but answers nothing (a "slow" node)."""
        node = self._node(i)
        self.signal(i, _signal.SIGSTOP)
        node.paused = True
        assert node.pid is not None
        wait_stopped_state(node.pid, stopped=True)

    def resume(self, i: int) -> None:
        """SIGCONT node ``i``'s group."""
        node = self._node(i)
        self.signal(i, _signal.SIGCONT)
        node.paused = False
        assert node.pid is not None
        wait_stopped_state(node.pid, stopped=False)

    def restart(self, i: int, timeout: float = 5.0) -> Node:
        """Kill node ``i`` if it runs, then start it again on the same ports (its log continues)."""
        node = self._node(i)
        if node.running:
            self.kill(i, timeout=timeout)
        self._clean_group(node)
        node.restarts += 1
        with node.log_path.open("a") as log:
            log.write(f"--- testfleet: restart {node.restarts} of {node.name} ---\n")
        self._launch(node)
        return node

    def wait_ready(
        self,
        check: Callable[[Node], object] | None = None,
        timeout: float = 10.0,
        nodes: Iterable[int] | None = None,
        interval: float = 0.05,
    ) -> None:
        """Wait until ``check(node)`` is truthy for every node (default: its first port accepts TCP).

        Raises :class:`ClusterError` with the node's log as soon as a node exits, or at the deadline.
        """
        probe = check or port_accepts
        pending = {self._node(i).index for i in (nodes if nodes is not None else range(len(self.nodes)))}

        def all_ready() -> bool:
            for index in sorted(pending):
                node = self.nodes[index]
                if not node.running:
                    raise ClusterError(
                        f"node {node.name} exited with status {node.returncode} before it was ready; "
                        f"log {node.log_path}:\n{node.log_tail()}"
                    )
                if probe(node):
                    pending.discard(index)
            return not pending

        try:
            eventually(all_ready, timeout=timeout, interval=interval)
        except AssertionError:
            names = ", ".join(self.nodes[i].name for i in sorted(pending))
            raise ClusterError(
                f"nodes not ready after {timeout}s: {names}\n{self.log_report(sorted(pending))}"
            ) from None

    def stop(self) -> None:
        """Stop every node: SIGTERM its group, wait ``stop_grace`` seconds, then SIGKILL the group."""
        started = [node for node in self.nodes if node.pid is not None]
        for node in started:
            assert node.pid is not None
            if node.running:
                signal_group(node.pid, _signal.SIGTERM)
                signal_group(node.pid, _signal.SIGCONT)
        for node in started:
            assert node._process is not None and node.pid is not None
            if node.running:
                node._process.wait(self._stop_grace)
            self._clean_group(node)  # the leader if still there, and anything left in its group
            if node._process.wait(5.0) is None:
                raise ClusterError(f"node {node.name} (pid {node.pid}) survived SIGKILL for 5s")

    def log_report(self, indices: Iterable[int] | None = None, lines: int = 20) -> str:
        """The last ``lines`` lines of each node's log, headed by its name, pid and exit status."""
        parts = []
        for i in indices if indices is not None else range(len(self.nodes)):
            node = self.nodes[i]
            parts.append(
                f"----- {node.name} pid={node.pid} status={node.returncode} log={node.log_path} -----"
            )
            parts.append(node.log_tail(lines) or "(empty log)")
        return "\n".join(parts)


def _kill_groups(pgids: set[int]) -> None:
    for pgid in list(pgids):
        signal_group(pgid, _signal.SIGKILL)
