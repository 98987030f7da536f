"""The pytest side of ``--shard I/K``: deselect the items of the other shards.

Runs where the suite is collected: in a fleet run that is the collector process (and each
spawned or Ray worker that collects for itself: they compute the same plan from the same
inputs), in a plain ``pytest --fleet-shard I/K`` run the pytest process itself. The
controller never collects, so it never gets here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testfleet.config import Settings
from testfleet.shard import Shard, parse_shard, select
from testfleet.shard.durations import history_durations, read_durations


def group_key(item: pytest.Item) -> str | None:
    """The node the item shares a wide-scoped fixture with: its module or its class."""
    from testfleet.worker.items import wide_scope

    scope = wide_scope(item)
    if scope == "module":
        return item.nodeid.split("::", 1)[0]
    if scope == "class":
        return item.parent.nodeid if item.parent is not None else None
    return None


def load_history(
    config: pytest.Config, settings: Settings, nodeids: list[str] | None = None
) -> dict[str, float]:
    """Durations to split by: ``--durations-file``, else the results store (read-only), else none."""
    base = Path(config.invocation_params.dir)
    if settings.durations_file:
        return read_durations(base / settings.durations_file)
    if settings.db is not None and settings.db.lower() == "none":
        return {}
    from testfleet.store import default_path, open_store

    path = default_path(config.rootpath) if settings.db is None else base / settings.db
    if not path.is_file():
        return {}
    try:
        store = open_store(path, rootdir=config.rootpath, readonly=True, lock_timeout=10.0)
    except Exception:  # noqa: BLE001 - no history: every test is estimated
        return {}
    try:
        return history_durations(store, wanted=nodeids)
    finally:
        store.close()


def deselect_other_shards(
    config: pytest.Config, items: list[pytest.Item], shard: Shard, history: dict[str, float]
) -> None:
    keys = [group_key(item) for item in items]
    mine = select([item.nodeid for item in items], shard, history, keys)
    keep = [item for item, m in zip(items, mine, strict=True) if m]
    drop = [item for item, m in zip(items, mine, strict=True) if not m]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def apply(config: pytest.Config, items: list[pytest.Item], settings: Settings) -> None:
    if not settings.shard:
        return
    shard = parse_shard(settings.shard)
    history = load_history(config, settings, [item.nodeid for item in items])
    deselect_other_shards(config, items, shard, history)
