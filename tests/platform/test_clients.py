"""The same typed client works in-process (embedded) and over HTTP (distributed)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lugx.platform.bootstrap import Platform
from lugx.platform.clients import Clients, side_by_side
from lugx.platform.errors import NotFound, ServiceUnavailable
from lugx.platform.observability import request_id_var
from lugx.platform.settings import Settings
from lugx.services.users.client import UsersClient
from tests.conftest import free_port, served
from tests.users.factories import signed_up


@pytest.fixture
async def users_over_http(platform: Platform) -> AsyncIterator[str]:
    async with served(platform.runtimes["users"].app) as url:
        yield url


async def test_in_process_and_http_clients_agree(
    client: httpx.AsyncClient, platform: Platform, settings: Settings, users_over_http: str
) -> None:
    account = await signed_up(client, "wallace")
    embedded = platform.wiring.clients.get(UsersClient)
    remote_clients = Clients(
        settings.model_copy(update={"service_urls": {"users": users_over_http}})
    )
    try:
        remote = remote_clients.get(UsersClient)
        for users in (embedded, remote):
            profile = await users.profile(account.user["account_id"])
            assert profile.username == "wallace"
            me = await users.me(token=account.access_token)
            assert me.email == "wallace@example.com"
            with pytest.raises(NotFound):
                await users.profile("00000000-0000-0000-0000-000000000000")
    finally:
        await remote_clients.aclose()


async def test_a_service_that_is_down_is_unavailable(settings: Settings) -> None:
    clients = Clients(
        settings.model_copy(update={"service_urls": {"users": f"http://127.0.0.1:{free_port()}"}})
    )
    try:
        with pytest.raises(ServiceUnavailable):
            await clients.get(UsersClient).profile(1)
    finally:
        await clients.aclose()


async def test_the_request_id_travels_with_the_call(platform: Platform) -> None:
    """In process, through the caller typed clients use."""
    from lugx.platform.asgi_calls import AsgiCaller

    assert isinstance(platform.wiring.clients.get(UsersClient)._http, AsgiCaller)
    token = request_id_var.set("trace-in-process-1")
    try:
        response = await platform.wiring.clients.get(UsersClient).request("GET", "/healthz")
    finally:
        request_id_var.reset(token)
    assert response.headers["x-request-id"] == "trace-in-process-1"


def _echo_app() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": sorted(request.query_params.multi_items()),
                "header": request.headers.get("x-probe"),
                "host": request.headers.get("host"),
                "type": request.headers.get("content-type"),
                "body": (await request.body()).decode(),
            },
            status_code=201,
            headers={"x-answer": "yes"},
        )

    return Starlette(routes=[Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT"])])


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "/echo/a", {"app_id": [3, 1, 2], "on_sale": True, "free": False}, None),
        ("GET", "/echo/b?fixed=1", {"more": "x y&z"}, None),
        ("POST", "/echo/c", None, {"name": "Élan", "n": [1, 2], "nested": {"ok": None}}),
        ("PUT", "/echo/d", {"q": ""}, []),
    ],
)
async def test_the_in_process_caller_sends_what_httpx_sends(
    method: str, path: str, params: dict[str, object] | None, body: object
) -> None:
    """Same query strings (repeated keys, lower-case booleans), JSON bodies and headers as an
    httpx client over the ASGI transport, and the same answer back."""
    from lugx.platform.asgi_calls import AsgiCaller

    app = _echo_app()
    headers = {"X-Probe": "probe-1"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://users"
    ) as reference:
        expected = await reference.request(method, path, params=params, json=body, headers=headers)
    got = await AsgiCaller(app, "users").request(
        method, path, params=params, json=body, headers=headers
    )
    assert got.status_code == expected.status_code == 201
    assert got.json() == expected.json()
    assert got.headers["x-answer"] == "yes"


def test_httpx_clients_find_sniffio_installed() -> None:
    """httpcore imports sniffio on every request (pyproject.toml says why it is a dependency):
    missing, each of those imports searches sys.path and fails, ~0.2 ms per request."""
    assert importlib.util.find_spec("sniffio") is not None


async def test_a_service_in_this_process_runs_its_operations_directly(
    platform: Platform, settings: Settings
) -> None:
    """Embedded: the client holds the callee's context, and `run_local` passes the callee's
    own errors through as the HTTP path would raise them, and turns anything else into the
    callee being unavailable, as a 500 would. Distributed: no context, so HTTP."""
    from lugx.services.catalog.client import CatalogClient

    catalog = platform.runtimes["shopping"].ctx.client(CatalogClient)
    assert catalog.local is platform.runtimes["catalog"].ctx
    assert Clients(settings).get(CatalogClient, service_token=lambda: "x").local is None
    # Without a service token the endpoint's check must answer: no shortcut past it.
    assert platform.wiring.clients.get(CatalogClient).local is None

    async def refuses(ctx: object) -> None:
        raise NotFound("no such thing", code="thing-not-found")

    async def breaks(ctx: object) -> None:
        raise RuntimeError("a bug in the callee")

    with pytest.raises(NotFound) as refused:
        await catalog.run_local(refuses)
    assert refused.value.code == "thing-not-found"
    with pytest.raises(ServiceUnavailable, match="The catalog service failed"):
        await catalog.run_local(breaks)


async def test_calls_go_side_by_side_only_over_the_network(
    platform: Platform, settings: Settings
) -> None:
    """Embedded, the calls of `side_by_side` take turns (each done before the next starts);
    distributed, they run at once: two calls that each wait for the other finish."""
    shopping = platform.runtimes["shopping"].ctx
    assert not shopping.remote("catalog", "purchases")
    assert Clients(settings).in_process("catalog") is False

    started: list[str] = []
    both = asyncio.Barrier(2)

    async def call(name: str, *, meet: bool) -> str:
        started.append(name)
        if meet:
            await asyncio.wait_for(both.wait(), timeout=5)  # needs the other call running
        else:
            await asyncio.sleep(0.01)
        started.append(f"{name} done")
        return name

    in_turn = await side_by_side(False, call("a", meet=False), call("b", meet=False))
    assert in_turn == ["a", "b"]
    assert started == ["a", "a done", "b", "b done"]
    started.clear()
    together = await side_by_side(True, call("a", meet=True), call("b", meet=True))
    assert together == ["a", "b"]
    assert started[:2] == ["a", "b"]


async def test_a_failed_call_in_turn_leaves_no_call_unawaited() -> None:
    """In turn, a call that fails stops the rest: they are closed, never started, and never
    reported as coroutines nobody awaited."""

    async def fails() -> None:
        raise NotFound("no such thing")

    async def never() -> None:
        raise AssertionError("must not run")

    left = never()
    with pytest.raises(NotFound):
        await side_by_side(False, fails(), left)
    assert inspect.getcoroutinestate(left) == inspect.CORO_CLOSED
