"""What the gateway routes where, and its own endpoints, through real ASGI requests."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from starlette.types import ASGIApp, Receive, Scope, Send
from structlog.testing import capture_logs

from lugx.gateway import create_gateway
from lugx.platform.bootstrap import Wiring
from tests.gateway.conftest import CLIENT_IP, Calls, client_for, problem_of


async def test_api_paths_reach_their_service_unchanged(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/echo/headers", params={"q": "half life", "page": "2"})
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/api/v1/echo/headers"
    assert body["query"] == "q=half+life&page=2"
    assert body["client"] == CLIENT_IP


async def test_an_unknown_service_is_a_404_problem(client: httpx.AsyncClient, calls: Calls) -> None:
    for path in ("/api/v1/nope/games", "/api/v1/nope", "/api/v1/", "/api/v2/echo/headers"):
        response = await client.get(path)
        assert response.status_code == 404, path
        problem = problem_of(response)
        assert problem["type"].endswith(("/unknown-service", "/not-found"))
    assert calls.count == 0


async def test_paths_outside_the_api_are_404_without_a_fallback(client: httpx.AsyncClient) -> None:
    response = await client.get("/games/half-life")
    assert response.status_code == 404
    assert problem_of(response)["type"].endswith("/not-found")


async def test_the_fallback_serves_everything_outside_the_api(
    wiring: Wiring, upstreams: dict[str, Any]
) -> None:
    seen: list[str] = []

    async def store_front(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"<html>store</html>"})

    gateway = create_gateway(wiring, upstreams, fallback=store_front)
    async with client_for(gateway) as http:
        assert (await http.get("/")).text == "<html>store</html>"
        assert (await http.get("/games/half-life")).status_code == 200
        assert (await http.get("/api/v1/nope")).status_code == 404
        assert (await http.get("/api/v2/echo/headers")).status_code == 404
        assert (await http.get("/api/v1/echo/headers")).status_code == 200
        assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert seen == ["/", "/games/half-life"]


async def test_jwks_comes_from_the_users_service(client: httpx.AsyncClient, wiring: Wiring) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert wiring.signing_key is not None
    assert response.json()["keys"][0]["kid"] == wiring.signing_key.kid


async def test_a_request_id_is_made_sent_upstream_and_echoed_once(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/echo/headers")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.headers.get_list("x-request-id") == [request_id]  # not once per layer
    seen = [v for k, v in response.json()["headers"] if k == "x-request-id"]
    assert seen == [request_id]
    again = await client.get("/api/v1/echo/headers")
    assert again.headers["x-request-id"] != request_id


async def test_a_well_formed_request_id_is_kept_and_a_bad_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/api/v1/echo/headers", headers={"x-request-id": "trace-1234.abc"})
    assert kept.headers["x-request-id"] == "trace-1234.abc"
    assert [v for k, v in kept.json()["headers"] if k == "x-request-id"] == ["trace-1234.abc"]

    for bad in ("short", "has spaces in it", "x" * 200, "<script>alert(1)</script>"):
        replaced = await client.get("/api/v1/echo/headers", headers={"x-request-id": bad})
        new_id = replaced.headers["x-request-id"]
        assert new_id != bad
        assert [v for k, v in replaced.json()["headers"] if k == "x-request-id"] == [new_id]


async def test_refusals_and_own_endpoints_carry_a_request_id(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/api/v1/nope"),
        await client.get("/healthz"),
        await client.get("/api/v1/echo/me", headers={"authorization": "Bearer nope"}),
    ):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_one_access_log_line_per_request(wiring: Wiring, upstreams: dict[str, Any]) -> None:
    gateway = create_gateway(wiring, upstreams)
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as logs:
            async with client_for(gateway) as http:
                response = await http.get("/api/v1/echo/headers?secret=1")
    finally:
        structlog.configure(**saved)
    lines = [line for line in logs if line["event"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/echo/headers"  # never the query: it may carry secrets
    assert line["route"] == "/api/v1/echo"
    assert line["client"] == CLIENT_IP
    assert isinstance(line["duration_ms"], float)
    assert response.headers["x-request-id"]


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert (await client.post("/healthz")).status_code == 405


async def test_readyz_reports_each_check(wiring: Wiring, upstreams: dict[str, Any]) -> None:
    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("database is gone")

    ready = create_gateway(wiring, upstreams, readiness={"echo": fine, "users": fine})
    async with client_for(ready) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"echo": "ok", "users": "ok", "cache": "ok"},
    }

    failing = create_gateway(wiring, upstreams, readiness={"echo": fine, "users": broken})
    async with client_for(failing) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["echo"] == "ok"
    assert body["checks"]["users"] == "unavailable: ConnectionError"
    assert "database is gone" not in response.text  # no internals to the public


async def test_metrics_count_gateway_requests(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/echo/headers")
    await client.get("/api/v1/nope")
    text = (await client.get("/metrics")).text
    assert re.search(
        r'lugx_http_requests_total\{method="GET",route="/api/v1/echo",service="gateway",'
        r'status="200"\} [1-9]',
        text,
    )
    assert 'route="unknown-service",service="gateway",status="404"' in text
    assert 'lugx_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text


async def test_metrics_labels_stay_bounded(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await client.get(f"/api/v1/random-{n}/x")
        await client.request("BREW", "/api/v1/echo/headers")
    gateway_lines = [
        line for line in (await client.get("/metrics")).text.splitlines() if "gateway" in line
    ]
    assert not [line for line in gateway_lines if "random-" in line or "BREW" in line]
    assert [line for line in gateway_lines if 'method="OTHER"' in line]


async def test_openapi_merges_every_upstream(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in (
        "/api/v1/echo/headers",
        "/api/v1/echo/items",
        "/api/v1/other/items",
        "/.well-known/jwks.json",
    ):
        assert path in paths, path
    schemas = document["components"]["schemas"]

    def schema_of(path: str) -> dict[str, Any]:
        ref = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]

    assert set(schema_of("/api/v1/echo/items")["properties"]) == {"name"}
    assert set(schema_of("/api/v1/other/items")["properties"]) == {"sku"}
    # Identical components are shared, not duplicated per service.
    assert "HTTPValidationError" in schemas
    assert not any(name.endswith("__HTTPValidationError") for name in schemas)


async def test_docs_page_loads_the_merged_openapi(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


async def test_an_upstream_crash_is_a_bare_500_problem(wiring: Wiring) -> None:
    async def crashing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("secret internals")

    gateway = create_gateway(wiring, {"broken": crashing})
    async with client_for(gateway) as http:
        response = await http.get("/api/v1/broken/x")
    assert response.status_code == 500
    assert problem_of(response)
    assert "secret" not in response.text
    assert response.headers["x-request-id"]


async def test_lifespan_runs_the_given_start_and_stop(wiring: Wiring) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
        events.append("start")
        yield
        events.append("stop")

    gateway = create_gateway(wiring, {}, lifespan=lifespan)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await gateway({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert events == ["start", "stop"]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_own_endpoints_accept_only_reads(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/metrics")
    assert response.status_code == 405
    assert problem_of(response)


async def websocket_exchange(app: ASGIApp, path: str, text: str) -> list[dict[str, Any]]:
    """Connect, send one text message, and collect what the app sends back."""
    inbox: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": text},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"lugx.test")],
        "scheme": "ws",
        "client": (CLIENT_IP, 50000),
        "server": ("lugx.test", 80),
        "subprotocols": [],
    }
    await app(scope, receive, send)
    return sent


async def test_websockets_reach_their_service(gateway: ASGIApp) -> None:
    sent = await websocket_exchange(gateway, "/api/v1/echo/ws", "hello")
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "echo: hello"
    refused = await websocket_exchange(gateway, "/api/v1/nope/ws", "hello")
    assert [m["type"] for m in refused] == ["websocket.close"]
