"""Journeys as load: each completed flow is one measured "request"; a failed step is an error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lugx.bench import flows
from lugx.bench.flows import FlowJob, run_flows
from tests.conftest import served


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    async def ok(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def refuse(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("sold out", status_code=409)

    app = Starlette(routes=[Route("/step", ok), Route("/refuse", refuse)])
    async with served(app) as url:
        yield url


async def two_steps(http: httpx.AsyncClient, state: dict[str, Any], player: int, n: int) -> None:
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
