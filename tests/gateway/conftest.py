"""The gateway in front of small upstream apps built with the platform kit: `echo` (shows what
it received; counts calls, so a test can tell a request never reached it), `other` (for the
OpenAPI merge) and `users` (only the JWKS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, WebSocket
from pydantic import BaseModel, create_model
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp

from lugx.gateway import create_gateway
from lugx.platform.auth import CurrentUser, TokenIssuer
from lugx.platform.bootstrap import Wiring, build_wiring
from lugx.platform.errors import install_error_handlers
from lugx.platform.observability import RequestContextMiddleware, health_router
from lugx.platform.settings import Settings

CLIENT_IP = "203.0.113.7"
ORIGIN = "https://store.example"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "log_level": "WARNING",
        "rate_limit_per_minute": 1000,
        "max_body_bytes": 1024,
        "cors_origins": [ORIGIN],
        "trusted_proxies": ["10.0.0.0/8"],
        "upstream_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class Calls:
    def __init__(self) -> None:
        self.count = 0


class Item(BaseModel):
    name: str


def echo_app(wiring: Wiring, calls: Calls) -> FastAPI:
    app = FastAPI(title="echo")
    app.state.ctx = SimpleNamespace(tokens=wiring.tokens)
    install_error_handlers(app)
    app.include_router(health_router(lambda _request: {}))

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        calls.count += 1
        return await call_next(request)

    @app.get("/api/v1/echo/headers")
    async def headers(request: Request) -> dict[str, Any]:
        return {
            "headers": request.headers.items(),
            "path": request.url.path,
            "query": request.url.query,
            "client": request.client.host if request.client else None,
        }

    @app.get("/api/v1/echo/me")
    async def me(principal: CurrentUser) -> dict[str, str]:
        return {"user_id": str(principal.user_id)}

    @app.post("/api/v1/echo/body")
    async def body(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/api/v1/echo/items", status_code=201)
    async def item(body: Item) -> dict[str, str]:
        return {"created": body.name}

    @app.get("/api/v1/echo/slow")
    async def slow(seconds: float = 1.0) -> dict[str, bool]:
        await asyncio.sleep(seconds)
        return {"slept": True}

    @app.get("/api/v1/echo/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(5):
                yield f"chunk-{n};".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/api/v1/echo/cookie")
    async def cookie() -> Response:
        response = Response("set")
        response.set_cookie("session", "secret-of-one-client")
        return response

    @app.websocket("/api/v1/echo/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"echo: {await websocket.receive_text()}")
        await websocket.close()

    app.add_middleware(RequestContextMiddleware, service="echo")
    return app


def other_app() -> FastAPI:
    """Its `Item` is not echo's `Item`: the collision the OpenAPI merge must survive."""
    other_item = create_model("Item", sku=(int, ...))
    app = FastAPI(title="other")

    async def create(body: Any) -> dict[str, int]:
        return {"created": body.sku}

    create.__annotations__["body"] = other_item  # not the string "Item" (echo's, in this module)
    app.post("/api/v1/other/items", status_code=201)(create)
    return app


def users_app(wiring: Wiring) -> FastAPI:
    app = FastAPI(title="users")
    key = wiring.signing_key
    assert key is not None

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return {"keys": [key.jwk()]}

    return app


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(tmp_path, **overrides)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def wiring(settings: Settings) -> AsyncIterator[Wiring]:
    wiring = build_wiring(settings, holds_signing_key=True)
    yield wiring
    await wiring.close()


@pytest.fixture
def issuer(wiring: Wiring, settings: Settings) -> TokenIssuer:
    assert wiring.signing_key is not None
    return TokenIssuer(wiring.signing_key, issuer=settings.jwt_issuer, ttl_seconds=300)


def issue(issuer: TokenIssuer, *, user_id: uuid.UUID | None = None) -> str:
    return issuer.issue(
        user_id=user_id or uuid.uuid4(), account_id=7, roles=["player"], session_id=uuid.uuid4()
    )


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def upstreams(wiring: Wiring, calls: Calls) -> dict[str, ASGIApp | str]:
    return {"echo": echo_app(wiring, calls), "other": other_app(), "users": users_app(wiring)}


@pytest.fixture
def gateway(wiring: Wiring, upstreams: dict[str, ASGIApp | str]) -> ASGIApp:
    return create_gateway(wiring, upstreams)


def client_for(app: ASGIApp, *, ip: str = CLIENT_IP) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://lugx.test")


@pytest.fixture
async def client(gateway: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(gateway) as http:
        yield http


def problem_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert {"type", "title", "detail"} <= body.keys()
    return body
