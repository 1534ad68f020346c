"""Logs, request ids and metrics, shared by every service and the gateway.

- JSON logs through structlog; every line carries the request id of the request it serves.
- `RequestContextMiddleware` (pure ASGI, cheap) takes the `X-Request-ID` the gateway set, or makes
  one, echoes it on the response, and records Prometheus metrics labelled by service and route.
- `health_router` gives `/healthz` (alive), `/readyz` (dependencies answer) and `/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, TextIO

import structlog
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lugx.platform.net import header

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

HTTP_REQUESTS = Counter(
    "lugx_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "lugx_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def configure_logging(
    level: str = "INFO", *, json: bool = True, stream: TextIO | None = None
) -> None:
    """Structured logs at `level`; to `stream`, else to whatever sys.stdout is when a logger
    is made (so tests that capture stdout see them)."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    processors.append(
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), format="%(message)s", stream=stream)


def _add_request_id(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """Keep a well-formed incoming id (so a trace spans hops); replace anything else."""
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return new_request_id()


class RequestContextMiddleware:
    """Request id in, request id out, one metrics sample per request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_id = header(scope, b"x-request-id")
        request_id = accept_request_id(raw_id.decode("latin-1") if raw_id else None)
        token = request_id_var.set(request_id)
        encoded = request_id.encode()
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", encoded)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            HTTP_REQUESTS.labels(self.service, method, label, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, label).observe(time.perf_counter() - started)
            request_id_var.reset(token)


ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_TIMEOUT_SECONDS = 5.0


async def check_readiness(checks: Mapping[str, ReadinessCheck]) -> tuple[bool, dict[str, str]]:
    """Run every check at once, each bounded in time: a hung dependency makes a probe fail,
    never hang. Returns whether all passed and each one's outcome."""

    async def outcome(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS)
        except Exception as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    names = list(checks)
    outcomes = await asyncio.gather(*(outcome(checks[name]) for name in names))
    results = dict(zip(names, outcomes, strict=True))
    return all(o == "ok" for o in outcomes), results


def health_router(checks: Callable[[Request], dict[str, ReadinessCheck]]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        ready, results = await check_readiness(checks(request))
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
