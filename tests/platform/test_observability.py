"""Every service answers /healthz, /readyz and /metrics, and logs JSON with the request id."""

from __future__ import annotations

import json

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from lugx.platform.observability import configure_logging


@pytest.fixture
async def users_app(platform: Platform) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=platform.runtimes["users"].app)
    return httpx.AsyncClient(transport=transport, base_url="http://users")


async def test_health_and_readiness(users_app: httpx.AsyncClient) -> None:
    async with users_app as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "events": "ok"}


async def test_readiness_fails_when_the_database_is_gone(platform: Platform) -> None:
    runtime = platform.runtimes["users"]

    async def broken() -> None:
        raise ConnectionError("database unreachable")

    runtime.ctx.db.ping = broken  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://users") as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unavailable")


async def test_metrics_count_requests_by_route(users_app: httpx.AsyncClient) -> None:
    async with users_app as http:
        await http.get("/api/v1/users/00000000-0000-0000-0000-000000000000")
        metrics = (await http.get("/metrics")).text
    assert 'lugx_http_requests_total{method="GET",route="/api/v1/users/{ref}"' in metrics
    assert 'service="users",status="404"' in metrics


async def test_request_id_is_kept_echoed_and_logged(
    users_app: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    async with users_app as http:
        response = await http.post(
            "/api/v1/users/login",
            json={"login": "nobody", "password": "whatever it is"},
            headers={"x-request-id": "req-0123456789"},
        )
        generated = await http.get("/healthz")
    assert response.headers["x-request-id"] == "req-0123456789"
    assert len(generated.headers["x-request-id"]) == 32
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert any(line.get("request_id") == "req-0123456789" for line in lines)
    configure_logging("WARNING", json=True)
