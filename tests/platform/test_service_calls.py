"""Calls between services prove their caller; a forged, stale or foreign token is refused, and
the gateway never lets a public request carry one."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from lugx.gateway.guard import AccessGuard
from lugx.platform.auth.service_calls import SERVICE_HEADER, ServiceTokens, require_service
from lugx.platform.bootstrap import Platform
from lugx.platform.cache import MemoryCache
from lugx.platform.clients import Clients, ServiceClient
from lugx.platform.errors import Forbidden, Unauthorized, install_error_handlers
from lugx.platform.ratelimit import RateLimiter
from lugx.platform.settings import Settings

SECRET = b"a-secret-key-of-at-least-thirty-two-bytes"


class EchoClient(ServiceClient):
    service = "echo"

    async def whoami(self) -> str:
        response = await self.request("GET", "/internal/whoami")
        return str(response.json()["caller"])


def echo_app(tokens: ServiceTokens) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.ctx = SimpleNamespace(service_tokens=tokens)

    @app.get("/internal/whoami")
    async def whoami(
        caller: Annotated[str, Depends(require_service("purchases", "reviews"))],
    ) -> dict[str, str]:
        return {"caller": caller}

    return app


@pytest.fixture
async def clients(settings: Settings) -> Clients:
    registry = Clients(settings)
    registry.mount("echo", echo_app(ServiceTokens(SECRET)))
    return registry


async def test_a_named_service_is_let_in(clients: Clients) -> None:
    tokens = ServiceTokens(SECRET)
    echo = clients.get(EchoClient, service_token=lambda: tokens.issue("purchases"))
    assert await echo.whoami() == "purchases"
    await clients.aclose()


async def test_other_services_and_strangers_are_refused(clients: Clients) -> None:
    tokens = ServiceTokens(SECRET)
    with pytest.raises(Forbidden):
        await clients.get(EchoClient, service_token=lambda: tokens.issue("shopping")).whoami()
    with pytest.raises(Forbidden):
        await clients.get(EchoClient).whoami()  # no token at all
    forger = ServiceTokens(b"another-secret-key-of-thirty-two-bytes!!")
    with pytest.raises(Unauthorized):
        await clients.get(EchoClient, service_token=lambda: forger.issue("purchases")).whoami()
    await clients.aclose()


def test_tokens_expire_and_resist_tampering() -> None:
    tokens = ServiceTokens(SECRET)
    token = tokens.issue("purchases")
    assert tokens.verify(token) == "purchases"
    with pytest.raises(Unauthorized):
        tokens.verify(token, now=time.time() + 120)
    caller, stamp, mac = token.split(".")
    with pytest.raises(Unauthorized):
        tokens.verify(f"reviews.{stamp}.{mac}")
    with pytest.raises(Unauthorized):
        tokens.verify(f"{caller}.{int(stamp) + 1}.{mac}")
    with pytest.raises(Unauthorized):
        tokens.verify("garbage")


async def test_the_platform_context_signs_its_clients_calls(platform: Platform) -> None:
    ctx = platform.runtimes["catalog"].ctx
    ctx.clients.mount("echo", echo_app(ctx.service_tokens))
    with pytest.raises(Forbidden, match="catalog"):
        await ctx.client(EchoClient).whoami()


async def test_the_gateway_drops_a_public_service_token(platform: Platform) -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def downstream(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(list(scope["headers"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wiring = platform.wiring
    guard = AccessGuard(
        downstream,
        tokens=wiring.tokens,
        limiter=RateLimiter(MemoryCache()),
        limit=100,
        window_seconds=60,
        client_address=platform.runtimes["users"].ctx.client_address,
    )
    token = wiring.service_tokens.issue("purchases")
    transport = httpx.ASGITransport(app=guard)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        response = await http.get("/anything", headers={SERVICE_HEADER: token, "x-other": "1"})
    assert response.status_code == 204
    names = [name for name, _ in seen[0]]
    assert SERVICE_HEADER.encode() not in names
    assert b"x-other" in names
