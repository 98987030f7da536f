"""The live page's server side: a WebSocket fan-out and a JSON endpoint for polling.

Every :data:`TICK` seconds, when the :class:`~testfleet.dashboard.state.LiveState` changed
(or at least once a second, for the elapsed times), :class:`Hub` puts one message per
connected page in that page's queue: the state's :meth:`view` with the failures the page does
not have yet. A queue holds :data:`QUEUE_SIZE` messages; a page whose queue is full (a slow or
stalled browser) is dropped: its queue is emptied and its socket closed with code 4000, and the
page reconnects and starts again from a snapshot. Nothing here ever waits on the run, and the run
never waits on a page.

``GET /api/state?since=N&client=ID`` answers the same message, for pages without a WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from testfleet.dashboard.app import STATIC
from testfleet.dashboard.state import LiveState

TICK = 0.2
HEARTBEAT = 1.0  # send at least this often, so elapsed times move on the page
QUEUE_SIZE = 8
CLOSE_BEHIND = 4000  # close code: fell behind, reconnect for a snapshot
POLLER_FORGOTTEN = 3.0  # a polling page not seen for this long no longer counts
MAX_POLLERS = 256


class Client:
    """One connected page: its queue and how far it has got."""

    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=queue_size)
        self.since = 0  # the last failure number queued for it
        self.saw_end = False  # it was sent the run's end
        self.dropped = False


class Hub:
    """The connected pages and the ticker that feeds them."""

    def __init__(self, state: LiveState, tick: float = TICK, queue_size: int = QUEUE_SIZE) -> None:
        self.state = state
        self.tick = tick
        self.queue_size = queue_size
        self.clients: set[Client] = set()
        self.pollers: dict[str, tuple[float, bool]] = {}  # id -> (last seen, saw the end)
        self.dropped = 0  # pages dropped for falling behind
        self._lock = threading.Lock()  # settled() runs in the controller's thread

    def add(self) -> Client:
        client = Client(self.queue_size)
        with self._lock:
            self.clients.add(client)
        self.offer(client)  # the snapshot
        return client

    def remove(self, client: Client) -> None:
        with self._lock:
            self.clients.discard(client)

    def offer(self, client: Client) -> None:
        """Queue the page's next message, or drop the page when its queue is full."""
        if client.dropped:
            return
        message = self.state.view(since=client.since)
        try:
            client.queue.put_nowait(message)
        except asyncio.QueueFull:
            self._drop(client)
            return
        client.since = message["failure_seq"]

    def _drop(self, client: Client) -> None:
        client.dropped = True
        self.dropped += 1
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)  # tells its sender to close the socket

    async def run(self) -> None:
        """Feed the pages until cancelled."""
        seen = -1
        last = 0.0
        while True:
            await asyncio.sleep(self.tick)
            version = self.state.version
            now = time.monotonic()
            if version == seen and now - last < HEARTBEAT:
                continue
            seen, last = version, now
            for client in list(self.clients):
                self.offer(client)

    def polled(self, client_id: str, message: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            saw = self.pollers.get(client_id, (0.0, False))[1] or message["end"] is not None
            self.pollers[client_id] = (now, saw)
            if len(self.pollers) > MAX_POLLERS:  # forget pages that stopped polling
                self.pollers = {k: v for k, v in self.pollers.items() if now - v[0] < POLLER_FORGOTTEN}

    def settled(self) -> bool:
        """True when every page still connected (or polling) has been sent the run's end."""
        now = time.monotonic()
        with self._lock:
            pages = all(c.saw_end or c.dropped for c in self.clients)
            polls = all(saw for seen, saw in self.pollers.values() if now - seen < POLLER_FORGOTTEN)
        return pages and polls


def live_app(state: LiveState, hub: Hub) -> Any:
    """The Starlette application of the live page."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "live.html", media_type="text/html; charset=utf-8")

    async def api_state(request: Request) -> Response:
        try:
            since = max(0, int(request.query_params.get("since", "0")))
        except ValueError:
            since = 0
        message = state.view(since=since)
        hub.polled(request.query_params.get("client", "")[:64], message)
        return JSONResponse(message)

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        client = hub.add()

        async def drain() -> None:  # reads until the page goes away
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await websocket.receive_text()

        async def feed() -> None:
            while True:
                message = await client.queue.get()
                if message is None:
                    await websocket.close(CLOSE_BEHIND, "fell behind; reconnect for a snapshot")
                    return
                await websocket.send_text(json.dumps(message))
                if message["end"] is not None:
                    client.saw_end = True

        tasks = [asyncio.ensure_future(drain()), asyncio.ensure_future(feed())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)
            hub.remove(client)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        ticker = asyncio.ensure_future(hub.run())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/state", api_state),
            WebSocketRoute("/ws", socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
