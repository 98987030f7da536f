"""Rebuilding pytest reports on the controller from what a worker sent.

A worker sends each report either as pytest's own serialized dict
(``pytest_report_to_serializable``) or, for a plain report (no longrepr, no sections, no user
properties, no extra attributes: a clean pass, most of a suite), as the short list
``[when, outcome, duration, start, stop]``. The nodeid, location and keyword names that the
short form leaves out are the same for every report of a test, so they travel once.

Rebuilding a plain report costs a dict copy instead of pytest's ``_from_json``; on a suite of
tiny tests that is most of what the controller does per test besides calling the hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest


def fallback_location(nodeid: str) -> tuple[str, int | None, str]:
    """A location for a test no worker reported on (never started, or lost on a dead node):
    its file and its dotted name, as pytest would show them, with no line number."""
    path, _, rest = nodeid.partition("::")
    return path, None, rest.replace("::", ".") or path


def from_dict(config: pytest.Config, data: dict[str, Any]) -> pytest.TestReport:
    rep: pytest.TestReport = config.hook.pytest_report_from_serializable(config=config, data=data)
    # JSON has no tuples; pytest expects them for a skip's longrepr and for locations.
    if isinstance(rep.longrepr, list):
        rep.longrepr = tuple(rep.longrepr)  # type: ignore[assignment, unused-ignore]
    if isinstance(getattr(rep, "location", None), list):
        rep.location = tuple(rep.location)  # type: ignore[assignment]
    return rep


_TEMPLATE: dict[str, Any] | None = None


def _template() -> dict[str, Any]:
    """The attributes of a plain report, as this pytest's own constructor sets them (learnt
    once): a plain report is then a copy of them with its own fields set, about a third of
    the constructor's cost. Whatever a pytest version adds goes along with its default."""
    global _TEMPLATE
    if _TEMPLATE is None:
        probe = pytest.TestReport("t.py::t", ("t.py", 0, "t"), {}, "passed", None, "call", (), 0.0, 0.0, 0.0)
        _TEMPLATE = dict(probe.__dict__)
    return _TEMPLATE


def rebuild(
    config: pytest.Config,
    nodeid: str,
    location: tuple[str, int | None, str],
    keywords: Sequence[str],
    entries: Sequence[Any],
) -> list[pytest.TestReport]:
    """The reports of one test, in the order the worker made them."""
    out: list[pytest.TestReport] = []
    proto: dict[str, Any] | None = None
    new = pytest.TestReport.__new__
    cls = pytest.TestReport
    for entry in entries:
        if isinstance(entry, dict):
            out.append(from_dict(config, entry))
            continue
        when, outcome, duration, start, stop = entry
        rep = new(cls)
        d = rep.__dict__
        if proto is None:
            d.update(_TEMPLATE or _template())
            # Through the attribute: a plain one in older pytest, a parsing property in newer.
            rep.nodeid = nodeid
            d["location"], d["keywords"] = location, dict.fromkeys(keywords, 1)
            proto = d
        else:
            # Same test: the first report's fields (its parsed nodeid among them).
            d.update(proto)
        d["when"], d["outcome"], d["duration"], d["start"], d["stop"] = when, outcome, duration, start, stop
        d["longrepr"], d["sections"], d["user_properties"] = None, [], []
        out.append(rep)
    return out
