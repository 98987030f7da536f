"""What a pytest node id tells without the node (pure functions; no pytest import)."""

from __future__ import annotations


def derived(nodeid: str) -> tuple[str, str, str]:
    """What a node id tells of its item: (module, parent node id, unparametrized name).
    The module is always this; the collector sends the other two only for items where they
    differ (see :func:`testfleet.worker.items.describe_all`)."""
    head = nodeid.split("[", 1)[0]
    parent, _, name = head.rpartition("::")
    return nodeid.split("::", 1)[0], parent, name
