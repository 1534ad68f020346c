"""The same typed client works in-process (embedded) and over HTTP (distributed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from lugx.platform.bootstrap import Platform
from lugx.platform.clients import Clients
from lugx.platform.errors import NotFound, ServiceUnavailable
from lugx.platform.observability import request_id_var
from lugx.platform.settings import Settings
from lugx.services.users.client import UsersClient
from tests.conftest import free_port
from tests.users.factories import signed_up


@pytest.fixture
async def users_over_http(platform: Platform) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        platform.runtimes["users"].app, host="127.0.0.1", port=port, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


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


async def test_the_request_id_travels_with_the_call(platform: Platform) -> None:
    token = request_id_var.set("trace-abcdef-123")
    try:
        http = platform.wiring.clients.http("users")
        users = UsersClient(http)
        response = await users.request("GET", "/healthz")
    finally:
        request_id_var.reset(token)
    assert response.headers["x-request-id"] == "trace-abcdef-123"


async def test_a_service_that_is_down_is_unavailable(settings: Settings) -> None:
    clients = Clients(
        settings.model_copy(update={"service_urls": {"users": f"http://127.0.0.1:{free_port()}"}})
    )
    try:
        with pytest.raises(ServiceUnavailable):
            await clients.get(UsersClient).profile(1)
    finally:
        await clients.aclose()
