"""The distributed wiring: the gateway proxies over real HTTP to an upstream served by uvicorn
on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from lugx.gateway import create_gateway
from lugx.platform.bootstrap import Wiring, build_wiring
from lugx.platform.settings import Settings
from tests.conftest import free_port
from tests.gateway.conftest import CLIENT_IP, Calls, client_for, echo_app, problem_of


class Upstream:
    """An app served by uvicorn in this event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


@pytest.fixture
async def wiring(settings_factory: Callable[..., Settings]) -> AsyncIterator[Wiring]:
    # Long enough that a busy CI machine (the whole suite in parallel on two cores) never turns
    # an ordinary proxied request into a 504; the slow test waits past it on purpose.
    wiring = build_wiring(settings_factory(upstream_timeout_seconds=1.5), holds_signing_key=True)
    yield wiring
    await wiring.close()


@pytest.fixture
async def upstream(wiring: Wiring, calls: Calls) -> AsyncIterator[Upstream]:
    server = Upstream(echo_app(wiring, calls))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def proxied(wiring: Wiring, upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    gateway = create_gateway(wiring, {"echo": upstream.url})
    async with client_for(gateway) as http:
        yield http
    await shutdown(gateway)


async def shutdown(gateway: ASGIApp) -> None:
    """Run the gateway's lifespan shutdown, which closes its upstream connections."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(_message: Any) -> None:
        return None

    await gateway({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)


def seen_headers(response: httpx.Response) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in response.json()["headers"]:
        out.setdefault(key, []).append(value)
    return out


async def test_requests_are_proxied_unchanged_with_forwarding_headers(
    proxied: httpx.AsyncClient,
) -> None:
    response = await proxied.get(
        "/api/v1/echo/headers?q=portal%202&x=1",
        headers={
            "x-custom": "kept",
            "x-forwarded-for": "6.6.6.6",  # from an untrusted client: replaced
            "connection": "keep-alive, x-hop",
            "x-hop": "for this hop only",
            "te": "trailers",
            "accept-encoding": "identity",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/api/v1/echo/headers"
    assert body["query"] == "q=portal%202&x=1"
    headers = seen_headers(response)
    assert headers["x-custom"] == ["kept"]
    assert headers["x-forwarded-for"] == [CLIENT_IP]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == ["lugx.test"]
    assert headers["x-request-id"] == [response.headers["x-request-id"]]
    assert headers["accept-encoding"] == ["identity"]  # the client's, not httpx's default
    for hop_by_hop in ("x-hop", "te", "transfer-encoding"):
        assert hop_by_hop not in headers
    assert headers.get("connection") != ["keep-alive, x-hop"]
    # One of each on the way back, though the upstream sets its own.
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]
    assert len(response.headers.get_list("date")) <= 1


async def test_tokens_are_checked_then_forwarded(
    proxied: httpx.AsyncClient, wiring: Wiring, calls: Calls
) -> None:
    from lugx.platform.auth import TokenIssuer
    from tests.gateway.conftest import issue

    assert wiring.signing_key is not None
    issuer = TokenIssuer(wiring.signing_key, issuer="lugx", ttl_seconds=300)
    token = issue(issuer)
    ok = await proxied.get("/api/v1/echo/me", headers={"authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    before = calls.count
    refused = await proxied.get("/api/v1/echo/me", headers={"authorization": "Bearer forged"})
    assert refused.status_code == 401
    assert calls.count == before


async def test_bodies_stream_both_ways(proxied: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"q" * 100

    assert (await proxied.post("/api/v1/echo/body", content=b"p" * 1000)).json() == {"size": 1000}
    assert (await proxied.post("/api/v1/echo/body", content=chunks())).json() == {"size": 400}
    assert (await proxied.post("/api/v1/echo/body")).json() == {"size": 0}
    streamed = await proxied.get("/api/v1/echo/stream")
    assert streamed.text == "".join(f"chunk-{n};" for n in range(5))


async def test_upstream_errors_pass_through_as_they_are(proxied: httpx.AsyncClient) -> None:
    response = await proxied.post("/api/v1/echo/items", json={"wrong": "field"})
    assert response.status_code == 422
    assert problem_of(response)["errors"]


async def test_cookies_are_never_shared_between_clients(proxied: httpx.AsyncClient) -> None:
    first = await proxied.get("/api/v1/echo/cookie")
    assert "secret-of-one-client" in first.headers["set-cookie"]
    proxied.cookies.clear()
    later = await proxied.get("/api/v1/echo/headers")
    assert "cookie" not in seen_headers(later)


async def test_a_slow_upstream_is_a_504(proxied: httpx.AsyncClient) -> None:
    response = await proxied.get("/api/v1/echo/slow", params={"seconds": 2.5})
    assert response.status_code == 504
    assert problem_of(response)["type"].endswith("/upstream-timeout")
    assert response.headers["x-request-id"]


async def test_a_down_upstream_is_a_502(wiring: Wiring, upstream: Upstream) -> None:
    gateway = create_gateway(wiring, {"echo": upstream.url})
    async with client_for(gateway) as http:
        assert (await http.get("/api/v1/echo/headers")).status_code == 200
        await upstream.stop()
        response = await http.get("/api/v1/echo/headers")
        assert response.status_code == 502
        assert problem_of(response)["type"].endswith("/upstream-unavailable")
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["echo"].startswith("unavailable")
    await shutdown(gateway)


async def test_readyz_asks_each_upstream(proxied: httpx.AsyncClient) -> None:
    response = await proxied.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"echo": "ok", "cache": "ok"}


async def test_openapi_is_fetched_from_each_upstream(proxied: httpx.AsyncClient) -> None:
    document = (await proxied.get("/openapi.json")).json()
    assert "/api/v1/echo/headers" in document["paths"]
    assert "x-lugx-unavailable" not in document


async def test_openapi_leaves_out_an_upstream_that_is_down(wiring: Wiring) -> None:
    gateway = create_gateway(wiring, {"ghost": f"http://127.0.0.1:{free_port()}"})
    async with client_for(gateway) as http:
        document = (await http.get("/openapi.json")).json()
    await shutdown(gateway)
    assert document["paths"] == {}
    assert document["x-lugx-unavailable"] == ["ghost"]
