"""Connecting to Ray, asking the cluster what it has, and Ray's errors as one-line messages.

:class:`RayConnection` is every call the Ray executor makes to the cluster as a whole (the
worker actors are :mod:`testfleet.executor.ray_slots`); :class:`Cluster` is its protocol, so
the executor's start-up and planning can be exercised against a fake cluster. The functions
below it turn what Ray raises into one ``testfleet: error:`` line naming what to change.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from testfleet.errors import UsageError

PLACEMENT_TIMEOUT = 60.0
MISSING_RAY = "--backend ray needs Ray, which is not installed; install it with: pip install 'testfleet[ray]'"


def require_ray() -> None:
    """A usage error (exit 4) when Ray is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise UsageError(MISSING_RAY) from None


class Cluster(Protocol):
    """What the executor asks of the cluster while it starts and plans."""

    def connect(self, address: str | None, num_cpus: int | None, runtime_env: dict[str, Any]) -> None: ...

    def redirect_messages(self, sink: Callable[[dict[str, Any]], None]) -> None: ...

    def total_cpus(self) -> int: ...

    def node_ip(self) -> str: ...

    def nodes(self) -> list[dict[str, Any]]:
        """The live nodes, as ``ray.nodes()`` gives them (``NodeID``, ``Resources``, ...)."""
        ...

    def total_resources(self) -> dict[str, float]: ...

    def available_resources(self) -> dict[str, float]: ...

    def place(self, bundles: Sequence[Mapping[str, float]], timeout: float) -> Any:
        """A placement group holding ``bundles`` (spread), or None if not placed in time."""
        ...

    def bundle_nodes(self, group: Any) -> dict[int, str]:
        """Slot index -> the id of the node its bundle was placed on."""
        ...

    def remove(self, group: Any) -> None: ...

    def shutdown(self) -> None: ...


class RayConnection:
    """The real cluster, through ``ray`` (imported in each method: only Ray runs need it)."""

    def connect(self, address: str | None, num_cpus: int | None, runtime_env: dict[str, Any]) -> None:
        """``ray.init``; without an address a private local instance (``num_cpus`` CPUs)."""
        import ray

        kwargs: dict[str, Any] = {
            "logging_level": logging.ERROR,
            "log_to_driver": False,
            "namespace": "testfleet",
            "runtime_env": runtime_env or None,
        }
        if address is None:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)

    def redirect_messages(self, sink: Callable[[dict[str, Any]], None]) -> None:
        """Ray prints cluster messages (a node died, ...) on the driver's stdout, which is
        pytest's terminal here: they go to ``sink`` instead."""
        import ray._private.worker as ray_worker

        def to_sink(data: dict[str, Any], ignore_prefix: bool = False) -> None:
            sink(data)

        ray_worker.print_to_stdstream = to_sink

    def total_cpus(self) -> int:
        import ray

        return int(ray.cluster_resources().get("CPU", 0))

    def node_ip(self) -> str:
        import ray

        return str(ray.util.get_node_ip_address())

    def nodes(self) -> list[dict[str, Any]]:
        import ray

        return [dict(n) for n in ray.nodes() if n.get("Alive")]

    def total_resources(self) -> dict[str, float]:
        import ray

        return dict(ray.cluster_resources())

    def available_resources(self) -> dict[str, float]:
        import ray

        return dict(ray.available_resources())

    def place(self, bundles: Sequence[Mapping[str, float]], timeout: float) -> Any:
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group

        group = placement_group([dict(b) for b in bundles], strategy="SPREAD")
        ready, _ = ray.wait([group.ready()], timeout=timeout)
        if not ready:
            remove_placement_group(group)
            return None
        return group

    def bundle_nodes(self, group: Any) -> dict[int, str]:
        from ray.util.placement_group import placement_group_table

        where = placement_group_table(group).get("bundles_to_node_id", {})
        return {int(i): str(nid) for i, nid in where.items()}

    def remove(self, group: Any) -> None:
        from ray.util.placement_group import remove_placement_group

        try:
            remove_placement_group(group)
        except Exception:  # noqa: BLE001 - the cluster may be gone already
            pass

    def shutdown(self) -> None:
        import ray

        ray.shutdown()


# --------------------------------------------------------------------- errors as one line
def where(address: str | None, from_flag: bool) -> str:
    """How the user named the cluster, as they wrote it."""
    if address is None:
        return "a local Ray instance"
    return f"--ray-address {address}" if from_flag else f"RAY_ADDRESS={address}"


def connect_error(text: str, kind: str, cluster: str, root: str) -> UsageError:
    """What ``ray.init`` raised (its text and type name) as one line. ``cluster`` is
    :func:`where`'s answer; ``root`` the project that was being shipped."""
    if "exceeds the maximum size" in text:
        return UsageError(too_big(text, root))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and "Failed to set up runtime environment" in lines[0]:
        detail = lines[-1]  # the cause is last, after Ray's traceback
    else:
        detail = lines[0] if lines else kind
    return UsageError(f"--backend ray: {cluster}: {detail}")


def too_big(message: str, root: str) -> str:
    """Ray refused the packed project: say its size, the limit, and the ways out."""
    size = (
        message.split("Package size (", 1)[1].split(")", 1)[0] if "Package size (" in message else "too large"
    )
    limit = (
        message.split("maximum size of", 1)[1].split(". ", 1)[0].strip()
        if "maximum size of" in message
        else "its maximum size"
    )
    return (
        f"--backend ray: the project {root} is {size} packed, over Ray's limit of {limit}. "
        f"Leave large paths out with --ray-exclude PATTERN (or [tool.testfleet] ray_exclude, .gitignore, "
        f".rayignore), or pass --ray-no-ship if the Ray nodes share this filesystem"
    )


def no_cpus(address: str | None) -> UsageError:
    return UsageError(f"the Ray cluster at {address or 'localhost'} has no CPUs for workers")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, else its type name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def ship_env(root: str, excludes: Sequence[str]) -> dict[str, Any]:
    """The runtime_env that ships the project (``working_dir``) and testfleet (``py_modules``)
    to the nodes, so they run the controller's version of the worker."""
    import testfleet

    pkg = os.path.dirname(os.path.abspath(testfleet.__file__))
    return {"working_dir": root, "excludes": [".git", ".testfleet", *excludes], "py_modules": [pkg]}
