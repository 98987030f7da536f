"""What both dashboards share: the security guard, the static files, the server thread.

:class:`Guard` is ASGI middleware in front of every request, HTTP and WebSocket alike:

- a token, when one is set (always when binding an address other than loopback), must come
  with every request: ``?token=`` (the printed URL carries it; the answer then sets an
  HttpOnly, SameSite=Strict cookie so the page's own requests carry it), the cookie, or an
  ``Authorization: Bearer`` header; compared in constant time;
- on a loopback address without a token, the ``Host`` header must name loopback (a web page
  that rebinds its DNS name to 127.0.0.1 gets nothing) and a WebSocket's ``Origin`` must be
  this server;
- every HTTP answer carries a Content-Security-Policy that allows scripts and styles only
  from this server's files (no inline script, no eval), and ``nosniff``, no referrer, no
  framing, no caching.

Starlette and uvicorn are imported inside the functions that need them.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from testfleet.errors import UsageError

STATIC = Path(__file__).with_name("static")
COOKIE = "testfleet_dashboard"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def resolve_token(host: str, token: str | None) -> str | None:
    """The token to require: the one given, a new one for a non-loopback address, else None."""
    if token:
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(18)


def url(host: str, port: int, token: str | None, path: str = "/") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}" + (f"?token={token}" if token else "")


class Guard:
    """Token check, Host/Origin check and security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str | None, loopback: bool) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = (query.get("token") or [None])[0]
        refused = self._refusal(scope, headers, from_query)
        if refused:
            await self._refuse(scope, receive, send, refused)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        set_cookie = self.token is not None and from_query is not None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(HEADERS)
                if set_cookie:
                    extra.append(
                        (b"set-cookie", f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode())
                    )
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: dict[str, str], from_query: str | None) -> str | None:
        if self.token is not None:
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get("cookie", ""))
            except Exception:  # noqa: BLE001 - a malformed cookie header is no token
                pass
            bearer = headers.get("authorization", "")
            candidates = [
                from_query,
                cookie[COOKIE].value if COOKIE in cookie else None,
                bearer[7:] if bearer.lower().startswith("bearer ") else None,
            ]
            if not any(
                c is not None and secrets.compare_digest(c.encode(), self.token.encode()) for c in candidates
            ):
                return (
                    "this dashboard needs its token: open the URL testfleet printed (it ends in ?token=...)"
                )
            return None
        if self.loopback:
            host = headers.get("host", "")
            name = (
                host.rsplit(":", 1)[0].strip("[]")
                if not host.startswith("[") or "]:" in host
                else host.strip("[]")
            )
            if host and not is_loopback(name):
                return f"Host {host!r} is not this machine; open the dashboard at 127.0.0.1"
            origin = headers.get("origin")
            if scope["type"] == "websocket" and origin is not None and origin.split("://", 1)[-1] != host:
                return f"WebSocket from another origin ({origin}) refused"
        return None

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4403, "reason": why[:120]})
            return
        body = f"testfleet dashboard: {why}\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": body})


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port); a usage error when it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"--dashboard: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(64)
    sock.set_inheritable(False)
    return sock


def check_installed(option: str) -> None:
    """A usage error naming the extra when Starlette or uvicorn is missing."""
    from importlib.util import find_spec

    missing = [name for name in ("starlette", "uvicorn") if find_spec(name) is None]
    if missing:
        raise UsageError(f"{option} needs {' and '.join(missing)}: pip install 'testfleet[dashboard]'")


def websocket_protocol(known: Any) -> str:
    """uvicorn's WebSocket implementation to use: websockets' sans-I/O one (uvicorn >= 0.35; it
    avoids websockets' deprecated legacy API), else what uvicorn finds, else none at all (the
    page then polls)."""
    from importlib.util import find_spec

    if find_spec("websockets") is not None:
        return "websockets-sansio" if "websockets-sansio" in known else "auto"
    return "wsproto" if find_spec("wsproto") is not None else "none"


class ServerThread:
    """uvicorn serving the application ``make_app()`` on an already bound socket, in a daemon
    thread. Starlette and uvicorn are imported and the application built in that thread, so
    the caller (the controller, before its run) does not wait for them."""

    def __init__(self, make_app: Callable[[], ASGIApp], sock: socket.socket) -> None:
        self.sock = sock
        self._make_app = make_app
        self.server: Any = None
        self._stop = threading.Event()
        self.error: str | None = None
        self.thread = threading.Thread(target=self._serve, name="testfleet-dashboard", daemon=True)

    def _serve(self) -> None:
        try:
            import uvicorn
            from uvicorn.config import WS_PROTOCOLS

            config = uvicorn.Config(
                self._make_app(),
                log_level="warning",
                lifespan="on",
                access_log=False,
                timeout_graceful_shutdown=1,
                ws=websocket_protocol(WS_PROTOCOLS),
            )
            self.server = uvicorn.Server(config)
            if self._stop.is_set():
                return
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # noqa: BLE001 - uvicorn exits on start-up errors; never the run
            self.error = f"{type(exc).__name__}: {exc}"

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(timeout)
        if self.server is not None:
            self.server.should_exit = True  # it was built while we waited
        self.sock.close()
