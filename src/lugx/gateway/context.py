"""The outermost layer: request id, one access-log line and one metrics sample per request.

It takes a well-formed `X-Request-ID` from the client or makes one, puts it on the scope headers
every service sees (embedded or proxied), echoes it on the response, and adds the headers inner
layers queued in `scope[RESPONSE_HEADERS]` (rate-limit headers), so they need no send wrapper of
their own. An error that escapes everything below is answered with a bare 500 problem.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lugx.gateway.asgi import CLIENT, RESPONSE_HEADERS, ROUTE, Header, send_problem
from lugx.platform.net import header, peer
from lugx.platform.observability import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    KNOWN_METHODS,
    accept_request_id,
    request_id_var,
)

SERVICE = "gateway"
_REQUEST_ID = b"x-request-id"
# Methods are client-controlled: anything unusual shares one label, so metrics stay bounded.

log = structlog.get_logger(__name__)


class RequestIds:
    """Request ids for requests that came without a usable one: a random per-process prefix and
    a counter, 32 hex digits like a UUID's. Unique without a syscall per request (uuid4 reads
    the OS's random source every time), and ids need to be unique, not secret."""

    def __init__(self) -> None:
        self._prefix = os.urandom(10).hex()
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


def _accept_request_id(value: bytes | None, new: RequestIds) -> str:
    if value is not None:
        text = value.decode("latin-1")
        if accept_request_id(text) == text:
            return text
    return new()


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # prometheus_client's .labels() takes a lock and validates on every call; the children
        # never change, so keep them.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}
        self._new_id = RequestIds()
        self._access_log: Any = None  # bound on first use, once logging is configured

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = header(scope, _REQUEST_ID)
        request_id = _accept_request_id(incoming, self._new_id)
        encoded = request_id.encode()
        if incoming != encoded:  # absent or replaced: every hop must see the id we answer with
            scope["headers"] = [
                *(item for item in scope["headers"] if item[0] != _REQUEST_ID),
                (_REQUEST_ID, encoded),
            ]
        extra: list[Header] = []
        scope[RESPONSE_HEADERS] = extra
        status = 0

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *(h for h in message.get("headers", ()) if h[0] != _REQUEST_ID),
                    (_REQUEST_ID, encoded),
                    *extra,
                ]
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            log.exception("gateway error", path=scope["path"])
            if status:
                raise  # the response has begun: all we can do is drop the connection
            await send_problem(send_with_context, 500, "Something went wrong on our side")
        finally:
            self._record(scope, status or 500, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        route = scope.get(ROUTE, "unmatched")
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(SERVICE, method, route, str(status))
            self._counters[(method, route, status)] = counter
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = HTTP_LATENCY.labels(SERVICE, method, route)
            self._histograms[(method, route)] = histogram
        counter.inc()
        histogram.observe(elapsed)
        if self._access_log is None:
            self._access_log = structlog.get_logger("lugx.gateway.access").bind()
        self._access_log.info(
            "request",
            method=scope["method"],
            path=scope["path"],
            status=status,
            duration_ms=round(elapsed * 1000, 3),
            route=route,
            client=scope.get(CLIENT) or peer(scope),
        )
