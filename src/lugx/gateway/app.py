"""The gateway: the platform's one public entry.

    RequestContext         request id in and out, access log, metrics        (context.py)
      CORSMiddleware       only when LUGX_CORS_ORIGINS is set
        Gateway            its own endpoints: /healthz /readyz /metrics /openapi.json /docs
          EdgeCache        public reads answered from memory       (edge_cache.py; optional)
            AccessGuard    bearer token check, rate limit per user or address  (guard.py)
              BodyLimit    413 for bodies over LUGX_MAX_BODY_BYTES               (guard.py)
                Dispatcher /api/v1/<service>/... to that service, unchanged

An upstream is an ASGI app (embedded wiring: called in-process with the same scope) or a URL
(distributed wiring: proxied over HTTP, proxy.py). Every layer is plain ASGI: no per-request
framework objects on the hot path.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi.openapi.docs import get_swagger_ui_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from lugx.gateway.asgi import ROUTE, send_body, send_json, send_problem
from lugx.gateway.context import RequestContext
from lugx.gateway.edge_cache import EdgeCache, ResponseCache, edge_cache_for
from lugx.gateway.guard import AccessGuard, BodyLimit
from lugx.gateway.openapi import OpenApiAggregator, OpenApiSource
from lugx.gateway.proxy import HttpUpstream, UpstreamPool
from lugx.platform.bootstrap import Platform, Wiring, build_wiring
from lugx.platform.net import ClientAddress
from lugx.platform.ratelimit import RateLimiter
from lugx.platform.service import ServiceRuntime
from lugx.platform.settings import Settings

API_PREFIX = "/api/v1/"
JWKS_PATH = "/.well-known/jwks.json"
RATE_WINDOW_SECONDS = 60.0
READINESS_TIMEOUT_SECONDS = 5.0
OPENAPI_TTL_SECONDS = 30.0

UPSTREAM = "lugx.upstream"  # scope key: the app chosen for the request (None: no app)
_UNROUTED = object()

ReadinessCheck = Callable[[], Awaitable[None]]
Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]
Endpoint = Callable[[Scope, Receive, Send], Awaitable[None]]


def create_gateway(
    wiring: Wiring,
    upstreams: Mapping[str, ASGIApp | str],
    *,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    lifespan: Lifespan | None = None,
    fallback: ASGIApp | str | None = None,
    edge_cache: ResponseCache | None = None,
) -> ASGIApp:
    """`upstreams` maps a service name to its ASGI app or base URL. `readiness` adds checks for
    /readyz (embedded apps; URLs are checked through their own /readyz). `lifespan` is entered
    when the server starts (it receives the gateway app). `fallback` serves every path outside
    /api/ and the gateway's own endpoints: the web store front, when there is one, in this
    process or at a base URL (then proxied like a service, and in /readyz as `web`).
    `edge_cache` (see `edge_cache_for`) answers public reads in front of the guard."""
    settings = wiring.settings
    client_address = ClientAddress(settings.trusted_proxies)
    pool = UpstreamPool(settings.upstream_timeout_seconds)
    apps: dict[str, ASGIApp] = {}
    checks: dict[str, ReadinessCheck] = {}
    sources: dict[str, OpenApiSource] = {}
    for name, upstream in upstreams.items():
        if isinstance(upstream, str):
            proxied = HttpUpstream(name, upstream, pool, client_address)
            apps[name] = proxied
            checks[name] = proxied.ready
            sources[name] = proxied.openapi
        else:
            apps[name] = upstream
            source = _embedded_openapi(upstream)
            if source is not None:
                sources[name] = source
    if isinstance(fallback, str):
        fallback = HttpUpstream("web", fallback, pool, client_address)
        checks["web"] = fallback.ready
    checks.update(readiness or {})
    checks["cache"] = wiring.cache.ping
    distributed = any(isinstance(upstream, str) for upstream in upstreams.values())

    dispatcher = Dispatcher(apps, fallback)
    guarded: ASGIApp = AccessGuard(
        BodyLimit(dispatcher, max_bytes=settings.max_body_bytes),
        tokens=wiring.tokens,
        limiter=RateLimiter(wiring.cache),
        limit=settings.rate_limit_per_minute,
        window_seconds=RATE_WINDOW_SECONDS,
        client_address=client_address,
    )
    if edge_cache is not None:
        guarded = EdgeCache(guarded, edge_cache, client_address)
    gateway = Gateway(
        guarded,
        dispatcher=dispatcher,
        checks=checks,
        openapi=OpenApiAggregator(
            sources, ttl_seconds=OPENAPI_TTL_SECONDS if distributed else None
        ),
        lifespan=lifespan,
        pool=pool,
    )
    app: ASGIApp = gateway
    if settings.cors_origins:
        app = CORSMiddleware(
            app,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["authorization", "content-type", "idempotency-key", "x-request-id"],
            allow_credentials="*" not in settings.cors_origins,
            expose_headers=[
                "x-request-id",
                "location",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
            ],
        )
    outer = RequestContext(app)
    gateway.lifespan_app = outer
    return outer


def _embedded_openapi(app: ASGIApp) -> OpenApiSource | None:
    build = getattr(app, "openapi", None)
    if not callable(build):
        return None

    async def source() -> dict[str, Any] | None:
        document = build()
        return document if isinstance(document, dict) else None

    return source


class Dispatcher:
    """Sends each request to the service that owns its path, with the scope unchanged."""

    def __init__(self, upstreams: Mapping[str, ASGIApp], fallback: ASGIApp | None) -> None:
        self._upstreams = dict(upstreams)
        self._labels = {name: API_PREFIX + name for name in upstreams}
        self._fallback = fallback

    def route(self, path: str) -> tuple[str, ASGIApp | None]:
        """The metrics label of a path and the app that serves it (None: nothing does)."""
        if path.startswith(API_PREFIX):
            name = path[len(API_PREFIX) :].partition("/")[0]
            upstream = self._upstreams.get(name)
            return (self._labels[name], upstream) if upstream else ("unknown-service", None)
        if path == JWKS_PATH and "users" in self._upstreams:
            return JWKS_PATH, self._upstreams["users"]
        if self._fallback is not None and not path.startswith("/api/"):
            return "fallback", self._fallback
        return "unmatched", None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get(UPSTREAM, _UNROUTED)
        if app is _UNROUTED:  # not routed by the Gateway in front (used on its own)
            scope[ROUTE], app = self.route(scope["path"])
        if app is None:
            await _not_found(scope, send)
        else:
            await app(scope, receive, send)


async def _not_found(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
    elif scope["path"].startswith(API_PREFIX):
        await send_problem(send, 404, "No service answers at this path", code="unknown-service")
    else:
        await send_problem(send, 404, "Nothing here", code="not-found")


class Gateway:
    """The gateway's own endpoints (never rate limited: probes must always get through) in
    front of the guarded path to the services; and the server's start and stop."""

    def __init__(
        self,
        guarded: ASGIApp,
        *,
        dispatcher: Dispatcher,
        checks: Mapping[str, ReadinessCheck],
        openapi: OpenApiAggregator,
        lifespan: Lifespan | None,
        pool: UpstreamPool,
    ) -> None:
        self._guarded = guarded
        self._dispatcher = dispatcher
        self._checks = dict(checks)
        self._openapi = openapi
        self._pool = pool
        self._user_lifespan = lifespan
        self.lifespan_app: ASGIApp = self
        self._lifespan = Router(lifespan=self._lifespan_context)
        self._docs = get_swagger_ui_html(openapi_url="/openapi.json", title="Lugx API").body
        self._endpoints: dict[str, Endpoint] = {
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/metrics": self._metrics,
            "/openapi.json": self._openapi_json,
            "/docs": self._swagger,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            endpoint = self._endpoints.get(scope["path"])
            if endpoint is None:
                # Routed once, up front, so refusals below are labelled by service too.
                scope[ROUTE], scope[UPSTREAM] = self._dispatcher.route(scope["path"])
                await self._guarded(scope, receive, send)
                return
            scope[ROUTE] = scope["path"]
            if scope["method"] not in ("GET", "HEAD"):
                await send_problem(send, 405, "Only GET is allowed here", code="method-not-allowed")
            else:
                await endpoint(scope, receive, send)
        elif kind == "websocket":
            # Straight to the service, which checks its own tokens: browsers cannot put one in
            # a WebSocket's headers, and the guard's refusals are HTTP responses.
            await self._dispatcher(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan.lifespan(scope, receive, send)

    async def aclose(self) -> None:
        """Close the connections to upstreams (done at shutdown; for servers without lifespan)."""
        await self._pool.aclose()

    @asynccontextmanager
    async def _lifespan_context(self, _app: Any) -> AsyncIterator[Any]:
        try:
            if self._user_lifespan is None:
                yield None
            else:
                async with self._user_lifespan(self.lifespan_app) as state:
                    yield state
        finally:
            await self.aclose()

    async def _healthz(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        await send_json(send, 200, {"status": "ok"})

    async def _readyz(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        names = list(self._checks)
        outcomes = await asyncio.gather(*(self._check(self._checks[name]) for name in names))
        results = dict(zip(names, outcomes, strict=True))
        ready = all(outcome == "ok" for outcome in outcomes)
        await send_json(
            send,
            200 if ready else 503,
            {"status": "ok" if ready else "unavailable", "checks": results},
        )

    @staticmethod
    async def _check(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS)
        except Exception as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    async def _metrics(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        await send_body(send, 200, generate_latest(), CONTENT_TYPE_LATEST.encode())

    async def _openapi_json(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        await send_body(send, 200, await self._openapi.document(), b"application/json")

    async def _swagger(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        await send_body(send, 200, bytes(self._docs), b"text/html; charset=utf-8")


def embedded_app(
    settings: Settings,
    *,
    fallback: ASGIApp | None = None,
    front: Callable[[Wiring], ASGIApp] | None = None,
) -> ASGIApp:
    """Every service in this process behind the gateway (`lugx up`). The server's start migrates
    each service's database and loads the demo data (outside production). `front` builds the
    fallback on the platform's wiring (the web store front, whose clients then stay
    in-process)."""
    from lugx import services

    platform = Platform(settings, services.available())
    if front is not None:
        fallback = front(platform.wiring)
    # Subscribed now, on the shared in-process transport: the platform starts it at startup.
    edge_cache = edge_cache_for(settings, platform.wiring.transport)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        await platform.start(migrate=True, seed=settings.loads_demo_data)
        freeze_startup_objects()
        try:
            yield
        finally:
            await platform.stop()

    return create_gateway(
        platform.wiring,
        {name: runtime.app for name, runtime in platform.runtimes.items()},
        readiness={name: _runtime_ready(rt) for name, rt in platform.runtimes.items()},
        lifespan=lifespan,
        fallback=fallback,
        edge_cache=edge_cache,
    )


def freeze_startup_objects() -> None:
    """Move everything built at start-up (apps, routes, models, metadata: long-lived by nature)
    out of the garbage collector's sight. Full collections then only walk what requests
    allocate; without this, each one walked the whole platform and showed up as ~100 ms p99
    latency spikes under load (see `lugx bench`)."""
    gc.collect()
    gc.freeze()


def _runtime_ready(runtime: ServiceRuntime) -> ReadinessCheck:
    async def check() -> None:
        for dependency in runtime.readiness_checks().values():
            await dependency()

    return check


def distributed_gateway(settings: Settings) -> ASGIApp:
    """The gateway alone (`lugx serve gateway`), proxying to each service's own process, and
    every other path to the store front's when LUGX_SERVICE_URLS names where `web` runs. Tokens
    are checked against the users service's published keys (JWKS). With a broker, public reads
    are cached at the edge and dropped by the catalog's events; without one nothing could tell
    the gateway of changes, so it caches nothing."""
    from lugx.services import SERVICE_MODULES

    wiring = build_wiring(settings, holds_signing_key=False)
    names = [*SERVICE_MODULES, *(n for n in settings.service_urls if n not in SERVICE_MODULES)]
    upstreams: dict[str, ASGIApp | str] = {
        name: settings.service_url(name) for name in names if name not in ("gateway", "web")
    }

    edge_cache = edge_cache_for(settings, wiring.transport) if settings.broker_url else None

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # The gateway publishes nothing; its transport runs only for the edge cache's events.
        listening = edge_cache is not None and await edge_cache.listen(wiring.transport)
        try:
            yield
        finally:
            if listening:
                await wiring.transport.stop()
            await wiring.close()

    web = settings.service_url("web") if "web" in settings.service_urls else None
    return create_gateway(wiring, upstreams, lifespan=lifespan, fallback=web, edge_cache=edge_cache)
