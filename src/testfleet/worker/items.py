"""What the controller needs to know about each collected item (JSON-able)."""

from __future__ import annotations

from typing import Any

import pytest

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


def describe(item: pytest.Item) -> dict[str, Any]:
    """What the controller needs to schedule the item. Its location is not here: computing
    it for every item would cost the collector (one process, before any test runs) about a
    fifth of its collection time; each worker sends it when the test starts."""
    parent = item.parent.nodeid if item.parent is not None else ""
    fleet: list[dict[str, Any]] = []
    dependency: list[dict[str, Any]] = []
    for m in item.iter_markers():
        if m.name == "fleet":
            fleet.append({"args": _json_safe(list(m.args)), "kwargs": _json_safe(dict(m.kwargs))})
        elif m.name == "dependency":
            dependency.append({"args": _json_safe(list(m.args)), "kwargs": _json_safe(dict(m.kwargs))})
    return {
        "nodeid": item.nodeid,
        "module": item.nodeid.split("::", 1)[0],
        "parent": parent,
        "name": getattr(item, "originalname", None) or item.name,
        "scope": wide_scope(item),
        "fleet": fleet,
        "dependency": dependency,
    }
