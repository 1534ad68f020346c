"""The distributed wiring's upstreams: a streaming HTTP reverse proxy over httpx.

The request goes to the service unchanged (same method, raw path and query, body streamed) with
hop-by-hop headers stripped and X-Forwarded-For/-Proto/-Host set from what the gateway can vouch
for. The response streams back as it arrives, bytes untouched (no decompression). It talks to
httpx's transport directly: no cookie jar shared between callers, no redirects followed, no
default headers (a client that did not ask for gzip must not be sent gzip).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import structlog
from starlette.types import Receive, Scope, Send

from lugx.gateway.asgi import Header, send_problem
from lugx.platform.net import ClientAddress, header

log = structlog.get_logger(__name__)

# RFC 9110 section 7.6.1, plus headers the gateway sets itself or the server adds on its own.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_DROPPED = _HOP_BY_HOP | {
    b"host",
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
}
_RESPONSE_DROPPED = _HOP_BY_HOP | {b"date", b"server"}


class ClientGone(Exception):
    """The client disconnected while its request body was being forwarded."""


class UpstreamPool:
    """The connections to every upstream: one transport (per-origin pools inside) and a small
    client for the gateway's own calls (readiness, OpenAPI). Opened lazily, closed once."""

    def __init__(self, timeout_seconds: float, *, max_connections: int = 512) -> None:
        self.timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0))
        self._limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 4,
            keepalive_expiry=30,
        )
        self._transport: httpx.AsyncHTTPTransport | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def transport(self) -> httpx.AsyncHTTPTransport:
        if self._transport is None:
            self._transport = httpx.AsyncHTTPTransport(limits=self._limits, retries=0)
        return self._transport

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=min(self.timeout.read or 5.0, 5.0))
        return self._client

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class HttpUpstream:
    """One service behind the gateway, reached over HTTP. An ASGI app like an embedded one."""

    def __init__(
        self, name: str, base_url: str, pool: UpstreamPool, client_address: ClientAddress
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._pool = pool
        self._client_address = client_address
        self._timeout = pool.timeout.as_dict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # TODO: proxy WebSockets (the online and notifications services need it).
            await send({"type": "websocket.close", "code": 1013})
            return
        request = self._request(scope, receive)
        try:
            response = await self._pool.transport.handle_async_request(request)
        except ClientGone:
            return
        except httpx.TimeoutException:
            log.warning("upstream timed out", upstream=self.name)
            await send_problem(
                send,
                504,
                f"The {self.name} service did not answer in time",
                code="upstream-timeout",
            )
            return
        except httpx.HTTPError as exc:
            log.warning("upstream unreachable", upstream=self.name, error=type(exc).__name__)
            await send_problem(
                send, 502, f"The {self.name} service is unavailable", code="upstream-unavailable"
            )
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _response_headers(response.headers.raw),
                }
            )
            stream = response.stream
            assert isinstance(stream, httpx.AsyncByteStream)
            async for chunk in stream:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    def _request(self, scope: Scope, receive: Receive) -> httpx.Request:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        url = self.base_url + raw_path.decode("latin-1")
        if query:
            url += "?" + query.decode("latin-1")
        has_body = header(scope, b"transfer-encoding") is not None or header(
            scope, b"content-length"
        ) not in (None, b"0")
        return httpx.Request(
            scope["method"],
            url,
            headers=self._request_headers(scope),
            content=_body(receive) if has_body else None,
            extensions={"timeout": self._timeout},
        )

    def _request_headers(self, scope: Scope) -> list[Header]:
        raw: list[Header] = scope["headers"]
        named = _connection_tokens(raw)
        headers = [
            (key, value) for key, value in raw if key not in _REQUEST_DROPPED and key not in named
        ]
        headers.append((b"x-forwarded-for", self._client_address.forwarded_for(scope).encode()))
        headers.append((b"x-forwarded-proto", self._client_address.forwarded_proto(scope).encode()))
        host = header(scope, b"host")
        if host is not None:
            headers.append((b"x-forwarded-host", host))
        return headers

    async def ready(self) -> None:
        response = await self._pool.client.get(f"{self.base_url}/readyz")
        if response.status_code != 200:
            raise UpstreamNotReady(f"{self.name} answered {response.status_code}")

    async def openapi(self) -> dict[str, Any] | None:
        response = await self._pool.client.get(f"{self.base_url}/openapi.json")
        response.raise_for_status()
        document = orjson.loads(response.content)
        return document if isinstance(document, dict) else None


class UpstreamNotReady(Exception):
    pass


def _connection_tokens(headers: list[Header]) -> frozenset[bytes]:
    """Headers the client named in `Connection` are for this hop only (RFC 9110 7.6.1)."""
    tokens: set[bytes] = set()
    for key, value in headers:
        if key == b"connection":
            tokens.update(token.strip().lower() for token in value.split(b","))
    return frozenset(tokens)


def _response_headers(raw: list[Header]) -> list[Header]:
    named = _connection_tokens([(key.lower(), value) for key, value in raw])
    out: list[Header] = []
    for key, value in raw:
        lower = key.lower()
        if lower not in _RESPONSE_DROPPED and lower not in named:
            out.append((lower, value))
    return out


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
