"""The browser dashboard: a live page of a running fleet and the history of a results store.

``testfleet run --dashboard`` serves :mod:`testfleet.dashboard.live` from a thread of the
controller; ``testfleet dashboard --db PATH`` serves :mod:`testfleet.dashboard.history_app`.
The server side needs the ``dashboard`` extra (Starlette, uvicorn, websockets); the parts the
static report shares (:mod:`~testfleet.dashboard.history` queries, :mod:`~testfleet.dashboard.svg`
charts) need only DuckDB. Nothing here is imported by ``testfleet --help`` or a plain run.
"""

from __future__ import annotations
