"""Guard: the token on every HTTP and WebSocket request, Host/Origin on loopback, the CSP."""

from __future__ import annotations

import asyncio
from typing import Any

from testfleet.dashboard.app import CSP, Guard, resolve_token, url


async def ok_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def call(
    guard: Guard, kind: str = "http", query: str = "", headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": kind,
        "path": "/",
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {"host": "127.0.0.1:1"}).items()],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request"}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(guard(scope, receive, send))
    return sent


def status(sent: list[dict[str, Any]]) -> int | str:
    first = sent[0]
    return first["status"] if first["type"] == "http.response.start" else first["type"]


def headers(sent: list[dict[str, Any]]) -> dict[bytes, bytes]:
    return dict(sent[0]["headers"])


def test_without_the_token_http_and_websocket_are_refused() -> None:
    guard = Guard(ok_app, "s3cret", loopback=False)
    host = {"host": "10.0.0.5:8000"}
    assert status(call(guard, headers=host)) == 403
    assert status(call(guard, query="token=wrong", headers=host)) == 403
    ws = call(guard, "websocket", headers=host)
    assert ws[0]["type"] == "websocket.close" and ws[0]["code"] == 4403


def test_the_token_in_the_url_sets_a_cookie_that_then_suffices() -> None:
    guard = Guard(ok_app, "s3cret", loopback=False)
    first = call(guard, query="token=s3cret", headers={"host": "10.0.0.5:8000"})
    assert status(first) == 200
    cookie = headers(first)[b"set-cookie"].decode()
    assert (
        cookie.startswith("testfleet_dashboard=s3cret;")
        and "HttpOnly" in cookie
        and "SameSite=Strict" in cookie
    )
    again = {"host": "10.0.0.5:8000", "cookie": "testfleet_dashboard=s3cret"}
    assert status(call(guard, headers=again)) == 200
    assert call(guard, "websocket", headers=again)[0]["type"] == "websocket.accept"
    bearer = {"host": "10.0.0.5:8000", "authorization": "Bearer s3cret"}
    assert status(call(guard, headers=bearer)) == 200


def test_every_answer_carries_the_security_headers() -> None:
    for sent in (call(Guard(ok_app, None, loopback=True)), call(Guard(ok_app, "t", loopback=False))):
        h = headers(sent)
        assert h[b"content-security-policy"].decode() == CSP
        assert h[b"x-content-type-options"] == b"nosniff"
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP


def test_loopback_refuses_other_host_names_and_cross_origin_websockets() -> None:
    guard = Guard(ok_app, None, loopback=True)
    assert status(call(guard, headers={"host": "127.0.0.1:8000"})) == 200
    assert status(call(guard, headers={"host": "localhost:8000"})) == 200
    assert status(call(guard, headers={"host": "[::1]:8000"})) == 200
    assert status(call(guard, headers={"host": "evil.example:8000"})) == 403  # DNS rebinding
    same = {"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}
    assert call(guard, "websocket", headers=same)[0]["type"] == "websocket.accept"
    other = {"host": "127.0.0.1:8000", "origin": "http://evil.example"}
    assert call(guard, "websocket", headers=other)[0]["code"] == 4403


def test_a_token_is_generated_only_for_addresses_other_than_loopback() -> None:
    assert resolve_token("127.0.0.1", None) is None
    assert resolve_token("127.0.0.1", "given") == "given"
    token = resolve_token("0.0.0.0", None)
    assert token is not None and len(token) >= 20 and token != resolve_token("0.0.0.0", None)
    assert url("0.0.0.0", 8000, token) == f"http://0.0.0.0:8000/?token={token}"
