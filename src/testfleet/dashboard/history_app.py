"""``testfleet dashboard``: the history of a results store in the browser.

Routes: ``/`` (trends, flaky tests, regressions, the runs), ``/runs/{id}`` (one run, its tests
filtered by ``q`` and ``outcome``), ``/grid`` (tests x runs for the last ``runs`` runs, ``q``).
Each request is one read-only session on the file (:class:`HistoryReader`); the endpoints are
plain functions, which Starlette runs in its thread pool.
"""

from __future__ import annotations

from typing import Any

from testfleet.dashboard import history, pages
from testfleet.dashboard.app import STATIC
from testfleet.dashboard.insights import insights
from testfleet.errors import StoreError, UsageError

MAX_GRID_RUNS = 200


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(value))) if value else default
    except ValueError:
        return default


def history_app(reader: history.HistoryReader) -> Any:
    """The Starlette application of the history pages."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def guarded(render: Any) -> Any:
        def endpoint(request: Request) -> Response:
            try:
                result = render(request)
            except StoreError as exc:
                return PlainTextResponse(f"testfleet dashboard: {exc}\n", status_code=503)
            except UsageError as exc:  # an ambiguous run id prefix
                return PlainTextResponse(f"testfleet dashboard: {exc}\n", status_code=404)
            if result is None:
                return PlainTextResponse("testfleet dashboard: no such run\n", status_code=404)
            return HTMLResponse(result)

        return endpoint

    def overview(request: Request) -> str:
        with reader.session() as conn:
            trend = history.trends(conn)
            runs = history.runs(conn, 100)
            found = insights(conn, trend)
        return pages.overview(trend, runs, found)

    def run(request: Request) -> str | None:
        match = request.query_params.get("q", "")[:200]
        outcome = request.query_params.get("outcome", "")[:20]
        with reader.session() as conn:
            page = history.run_page(conn, request.path_params["run_id"], match, outcome)
        return None if page is None else pages.run_page(page, match, outcome)

    def grid(request: Request) -> str:
        last = _int(request.query_params.get("runs"), history.GRID_RUNS, 1, MAX_GRID_RUNS)
        match = request.query_params.get("q", "")[:200]
        with reader.session() as conn:
            data = history.grid(conn, last, match=match)
        return pages.grid_page(data, match, last)

    return Starlette(
        routes=[
            Route("/", guarded(overview)),
            Route("/runs/{run_id}", guarded(run)),
            Route("/grid", guarded(grid)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
