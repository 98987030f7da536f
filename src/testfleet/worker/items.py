"""What the controller needs to know about each collected item (JSON-able)."""

from __future__ import annotations

from typing import Any

import pytest

from testfleet.nodeids import derived

_WIDE_SCOPES = {"class", "module", "package"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    return repr(value)


def wide_scope(item: pytest.Item) -> str | None:
    """The widest non-session fixture scope the item uses ('class', 'module' or None).

    Tests sharing such a fixture stay together on one worker so it is set up once.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    found: str | None = None
    for defs in info.name2fixturedefs.values():
        if not defs:
            continue
        scope = getattr(defs[-1], "_scope", None)
        name = getattr(scope, "value", None) or getattr(defs[-1], "scope", None)
        if name in ("module", "package"):
            return "module"
        if name == "class":
            found = "class"
    return found


def expand(nodeids: list[str], extra: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The controller's side of :func:`describe_all`: one dict per item, its node id and
    the fields sent for it (the scheduler derives the rest, :func:`derived`)."""
    items = [{"nodeid": nodeid} for nodeid in nodeids]
    for index, fields in extra.items():
        items[int(index)].update(fields)
    return items


class _Marks:
    """``fleet`` and ``dependency`` marks of items, closest first as ``iter_markers`` yields
    them, with each parent's share computed once (a suite's items share a few parents)."""

    NAMES = ("fleet", "dependency")

    def __init__(self) -> None:
        self.by_parent: dict[int, list[Any]] = {}

    def _own(self, node: Any) -> list[Any]:
        return [m for m in node.own_markers if m.name in self.NAMES]

    def _chain(self, node: Any) -> list[Any]:
        if node is None:
            return []
        found = self.by_parent.get(id(node))
        if found is None:
            found = self._own(node) + self._chain(node.parent)
            self.by_parent[id(node)] = found
        return found

    def of(self, item: pytest.Item) -> list[Any]:
        """The item's marks; unlike its parents', not kept (one lookup per item)."""
        return self._own(item) + self._chain(item.parent)


def describe_all(items: list[pytest.Item]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """What the controller needs to schedule the items: their node ids, and for the few
    items that need more (a wide fixture scope, ``fleet``/``dependency`` marks, a parent or
    name their node id does not tell), those fields by index. Locations are not here:
    computing them for every item would cost the collector (one process, before any test
    runs) about a fifth of its collection time; each worker sends them as tests start."""
    marks = _Marks()
    nodeids: list[str] = []
    extra: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        nodeid = item.nodeid
        nodeids.append(nodeid)
        _module, parent, name = derived(nodeid)
        fields: dict[str, Any] = {}
        real_parent = item.parent.nodeid if item.parent is not None else ""
        if real_parent != parent:
            fields["parent"] = real_parent
        real_name = getattr(item, "originalname", None) or item.name
        if real_name != name:
            fields["name"] = real_name
        scope = wide_scope(item)
        if scope is not None:
            fields["scope"] = scope
        for m in marks.of(item):
            entry = {"args": _json_safe(list(m.args)), "kwargs": _json_safe(dict(m.kwargs))}
            fields.setdefault(m.name, []).append(entry)
        if fields:
            extra[str(index)] = fields
    return nodeids, extra
