"""Journeys as load: each completed flow is one measured "request"; a failed step is an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from lugx.bench import flows
from lugx.bench.flows import FlowJob, run_flows
from lugx.bench.player import ConnectionClosed, PlayerClient
from tests.conftest import free_port, served


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    async def ok(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def refuse(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("sold out", status_code=409)

    app = Starlette(routes=[Route("/step", ok), Route("/refuse", refuse)])
    async with served(app) as url:
        yield url


async def two_steps(http: PlayerClient, state: dict[str, Any], player: int, n: int) -> None:
    for _ in range(2):
        flows._ok("step", await http.get("/step"))
    if player == 0 and n % 2:  # player 0 fails every other journey
        flows._ok("refused", await http.get("/refuse"))


async def test_flows_are_counted_whole_and_failures_apart(
    shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(flows.FLOWS, "two-steps", two_steps)
    job = FlowJob(base_url=shop, flow="two-steps", state={}, connections=3, seconds=1.0, warmup=0.2)
    result = await run_flows(job)
    assert result.requests > 10
    assert result.statuses["200"] == result.requests
    assert result.errors == result.statuses["409"] > 0
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """Answers with what it was asked, and the client's port: which connection it came on."""

    async def echoed(request: Request) -> JSONResponse:
        assert request.client is not None
        headers = {"Connection": "close"} if "close" in request.query_params else {}
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "authorization": request.headers.get("authorization"),
                "content_type": request.headers.get("content-type"),
                "body": (await request.body()).decode(),
                "port": request.client.port,
            },
            status_code=201 if request.method == "POST" else 200,
            headers=headers,
        )

    async def slow(_request: Request) -> PlainTextResponse:
        await asyncio.sleep(1)
        return PlainTextResponse("late")

    app = Starlette(routes=[Route("/echo", echoed, methods=["GET", "POST"]), Route("/slow", slow)])
    async with served(app) as url:
        yield url


async def test_a_player_sends_json_and_keeps_its_connection(echo: str) -> None:
    http = PlayerClient(echo)
    try:
        got = await http.get("/echo", headers={"Authorization": "Bearer t"}, params={"limit": 5})
        assert got.status_code == 200
        assert got.is_success
        first = got.json()
        assert first["query"] == {"limit": "5"}
        assert first["authorization"] == "Bearer t"
        posted = await http.post("/echo", json={"app_id": 7}, headers={"Idempotency-Key": "k"})
        assert posted.status_code == 201
        second = posted.json()
        assert (second["method"], second["content_type"]) == ("POST", "application/json")
        assert second["body"] == '{"app_id":7}'
        assert second["port"] == first["port"]  # the same connection, kept alive
    finally:
        http.close()


async def test_a_player_connects_again_after_the_server_closes(echo: str) -> None:
    http = PlayerClient(echo)
    try:
        closing = (await http.get("/echo", params={"close": 1})).json()
        after = (await http.get("/echo")).json()
        assert after["port"] != closing["port"]
    finally:
        http.close()


@asynccontextmanager
async def raw_server(handle: Any) -> AsyncIterator[str]:
    """A TCP server that does what `handle` does with each connection: its base URL."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_a_cut_connection_a_silent_server_and_no_server_are_errors() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    async with raw_server(hang_up) as url:
        with pytest.raises(ConnectionClosed):
            await PlayerClient(url).get("/")
    async with raw_server(silent) as url:
        http = PlayerClient(url, timeout=0.2)
        with pytest.raises(ConnectionClosed, match="in time"):
            await http.get("/")
        http.close()
    with pytest.raises(ConnectionClosed, match="could not connect"):
        await PlayerClient(f"http://127.0.0.1:{free_port()}").get("/")


async def test_lost_connections_count_as_socket_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def one_step(http: PlayerClient, state: dict[str, Any], player: int, n: int) -> None:
        flows._ok("step", await http.get("/"))

    monkeypatch.setitem(flows.FLOWS, "one-step", one_step)
    async with raw_server(hang_up) as url:
        job = FlowJob(base_url=url, flow="one-step", state={}, connections=2, seconds=0.3, warmup=0)
        result = await run_flows(job)
    assert result.requests == 0
    assert result.socket_errors > 0
    assert result.errors == 0


async def test_a_cancelled_request_leaves_the_player_usable_and_head_has_no_body(
    echo: str,
) -> None:
    http = PlayerClient(echo)
    try:
        before = (await http.get("/echo")).json()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(http.get("/slow"), timeout=0.2)  # cancelled mid-flight
        after = (await http.get("/echo")).json()
        assert after["port"] != before["port"]  # that connection was dropped, not reused
        head = await asyncio.wait_for(http.request("HEAD", "/echo"), timeout=5)
        assert (head.status_code, head.content) == (200, b"")
        assert (await http.get("/echo")).json()["method"] == "GET"  # framing intact after it
    finally:
        http.close()


async def test_a_player_out_of_games_stops_and_is_not_an_error(
    shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def three_games(http: PlayerClient, state: dict[str, Any], player: int, n: int) -> None:
        if n >= 3:
            raise flows.OutOfGames
        flows._ok("step", await http.get("/step"))

    monkeypatch.setitem(flows.FLOWS, "three", three_games)
    job = FlowJob(base_url=shop, flow="three", state={}, connections=2, seconds=1.0, warmup=0)
    result = await run_flows(job)
    assert result.statuses[flows.OUT_OF_GAMES] == 2  # each player, once, then it stopped
    assert result.requests == 6
    assert result.errors == 0
