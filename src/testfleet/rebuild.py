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


def rebuild(
    config: pytest.Config,
    nodeid: str,
    location: tuple[str, int | None, str],
    keywords: Sequence[str],
    entries: Sequence[Any],
) -> list[pytest.TestReport]:
    """The reports of one test, in the order the worker made them."""
    out: list[pytest.TestReport] = []
    proto: pytest.TestReport | None = None
    kw: dict[str, Any] | None = None
    for entry in entries:
        if isinstance(entry, dict):
            out.append(from_dict(config, entry))
            continue
        when, outcome, duration, start, stop = entry
        if proto is None:
            kw = dict.fromkeys(keywords, 1)
            rep = pytest.TestReport(
                nodeid,
                location,
                kw,
                outcome,
                None,
                when,
                (),  # type: ignore[arg-type, unused-ignore]
                duration,
                start,
                stop,
            )
            proto = rep
        else:
            # Same test: copy the first report's fields (its parsed nodeid among them) and
            # change what differs. Much cheaper than the constructor.
            rep = pytest.TestReport.__new__(pytest.TestReport)
            d = rep.__dict__
            d.update(proto.__dict__)
            d["when"], d["outcome"], d["duration"], d["start"], d["stop"] = (
                when,
                outcome,
                duration,
                start,
                stop,
            )
            d["sections"], d["user_properties"] = [], []
        out.append(rep)
    return out
