"""The distributed gateway in front of the store front's own process (`lugx serve web`): every
path outside the API goes there, through the gateway's one upstream pool, and /readyz asks it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from lugx.gateway import distributed_gateway
from lugx.platform.settings import Settings
from tests.conftest import served
from tests.gateway.conftest import client_for


def _store_front(ready: list[bool]) -> Starlette:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"store page {request.url.path}")

    async def readyz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"}, status_code=200 if ready[0] else 503)

    return Starlette(
        routes=[Route("/readyz", readyz), Route("/{path:path}", page)],
    )


@pytest.fixture
async def web(ready: list[bool]) -> AsyncIterator[str]:
    async with served(_store_front(ready)) as url:
        yield url


@pytest.fixture
def ready() -> list[bool]:
    return [True]


async def test_pages_go_to_the_store_fronts_process_and_readyz_asks_it(
    settings_factory: Callable[..., Settings], web: str, ready: list[bool]
) -> None:
    settings = settings_factory(broker_url=None, service_urls={"web": web})
    async with client_for(distributed_gateway(settings)) as http:
        page = await http.get("/games/7/some-title")
        assert page.status_code == 200
        assert page.text == "store page /games/7/some-title"
        # (The services this test does not run are unavailable; only web's check is read.)
        assert (await http.get("/readyz")).json()["checks"]["web"] == "ok"
        ready[0] = False
        assert (await http.get("/readyz")).json()["checks"]["web"].startswith("unavailable")


async def test_without_a_store_front_the_gateway_answers_only_the_api(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(broker_url=None, service_urls={})
    async with client_for(distributed_gateway(settings)) as http:
        answer = await http.get("/readyz")
        assert "web" not in answer.json()["checks"]
        assert (await http.get("/games/7")).status_code == 404
