"""Calls to a service in this process (the embedded wiring), straight into its ASGI app.

The service answers exactly as it would over HTTP: the same routing, validation, service-token
check and problem documents. What is skipped is httpx's client machinery (URL merging, cookies,
auth and redirect handling, request and response streams), which cost about as much as a short
endpoint itself, on every one of the many calls a checkout makes. The answer is still an
`httpx.Response`, so typed clients read it the same way in both wirings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.types import ASGIApp, Message

# Who an in-process caller is, to the service (as httpx's ASGI transport says it).
_CLIENT = ("127.0.0.1", 123)


def _query_value(value: Any) -> str:
    """A query parameter as httpx writes it: booleans in lower case, None as empty."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def query_string(params: Mapping[str, Any] | None) -> bytes:
    """`params` as a query string; a list or tuple repeats its key, as httpx does."""
    if not params:
        return b""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, _query_value(item)) for item in values)
    return urlencode(pairs).encode("ascii")


class AsgiCaller:
    """`request(...)` as `httpx.AsyncClient.request` takes it, answered by an ASGI app."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self._app = app
        self._host = host.encode("ascii")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        # As httpx does: `params`, when given, replace a query written into the path.
        path, _, written = path.partition("?")
        query = query_string(params) if params else written.encode("ascii")
        body = b"" if json is None else _json_bytes(json)
        raw_headers = [(b"host", self._host)]
        raw_headers += [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        if json is not None:
            raw_headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8"),
            "query_string": query,
            "root_path": "",
            "headers": raw_headers,
            "server": (self._host.decode("ascii"), 80),
            "client": _CLIENT,
        }
        return await _exchange(self._app, scope, body)

    async def aclose(self) -> None:
        """Nothing to release: there is no connection."""


def _json_bytes(value: Any) -> bytes:
    # As httpx encodes a `json=` body.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


async def _exchange(app: ASGIApp, scope: dict[str, Any], body: bytes) -> httpx.Response:
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []
    sent = False
    finished = asyncio.Event()

    async def receive() -> Message:
        nonlocal sent
        if sent:
            # The body was read; a later receive only listens for the client going away.
            await finished.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if chunk and scope["method"] != "HEAD":
                parts.append(chunk)
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    return httpx.Response(status, headers=headers, content=b"".join(parts))
