"""One player's HTTP/1.1 connection for journeys (flows.py): a request at a time, kept alive,
opened again when the server closes it.

httpx, which the journeys used before, cost the load generator about 4 ms of CPU per checkout
journey (four requests): more than half a core at 130 journeys a second, on a machine whose
other core runs the server. This sends bytes it formats itself and frames the answers with the
load generator's own parser (loadgen.ResponseParser), so it costs a few tens of microseconds a
request and the server is what gets measured.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from lugx.bench.loadgen import ProtocolError, ResponseParser

TIMEOUT_SECONDS = 60.0


class ConnectionClosed(ConnectionError):
    """The server closed the connection, sent something that is not HTTP, or did not answer
    within the timeout, mid-request."""


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Wire(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = ResponseParser(self._on_response, keep_bodies=True)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Reply] | None = None
        self.keep_alive = True
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def send(self, request: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None
        assert self.waiter is None, "one request at a time"
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed(data)
        except ProtocolError as exc:
            self._fail(exc)

    def _on_response(self, status: int, keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(Reply(status, self.parser.body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        try:
            self.parser.eof()  # ends a body that runs until the close
        except ProtocolError as error:
            self._fail(error)
        self._fail(exc or ConnectionClosed("the server closed the connection"))

    def time_out(self) -> None:
        self._fail(TimeoutError("no answer in time"))

    def _fail(self, exc: Exception) -> None:
        self.closed = True  # nothing more is sent on it: the next request connects again
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionClosed(str(exc)))
        if self.transport is not None:
            self.transport.close()


class PlayerClient:
    """`get` and `post` (JSON) on one server, as one player: a request at a time."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        url = urlsplit(base_url)
        self.timeout = timeout
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"an http:// address is needed, not {base_url!r}")
        self.host = url.hostname
        self.port = url.port or 80
        self._authority = f"{self.host}:{self.port}"
        self._wire: _Wire | None = None

    async def get(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path, headers=headers)

    async def post(
        self, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        return await self.request("POST", path, json=json, headers=headers)

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        wire = self._wire
        if wire is None or wire.closed:
            wire = self._wire = await self._connect()
        wire.parser.head_only = method == "HEAD"
        waiter = wire.send(self._encode(method, path, json, headers or {}))
        timer = asyncio.get_running_loop().call_later(self.timeout, wire.time_out)
        try:
            reply = await waiter
        except BaseException:  # failed, timed out or cancelled: the connection is not reused
            self.close()
            raise
        finally:
            timer.cancel()
        if not wire.keep_alive:
            self.close()
        return reply

    def _encode(self, method: str, path: str, payload: Any, headers: Mapping[str, str]) -> bytes:
        body = b"" if payload is None else _json_bytes(payload)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._authority}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if payload is not None:
            lines.append("Content-Type: application/json")
        if body or method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _connect(self) -> _Wire:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _transport, wire = await loop.create_connection(_Wire, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise ConnectionClosed(f"could not connect to {self._authority}: {exc}") from exc
        return wire

    def close(self) -> None:
        if self._wire is not None and self._wire.transport is not None:
            self._wire.transport.close()
        self._wire = None


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
