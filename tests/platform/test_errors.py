"""Every error is RFC 9457 problem+json; nothing internal leaks."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from lugx.platform.errors import Conflict, TooManyRequests, install_error_handlers


class Body(BaseModel):
    count: int


def app() -> FastAPI:
    application = FastAPI()
    install_error_handlers(application)

    @application.get("/conflict")
    async def conflict() -> None:
        raise Conflict("Already there", code="already-there")

    @application.get("/slow-down")
    async def slow_down() -> None:
        raise TooManyRequests("Easy", retry_after=7)

    @application.get("/crash")
    async def crash() -> None:
        raise RuntimeError("SELECT secret FROM passwords -- at /srv/app.py line 3")

    @application.post("/body")
    async def body(payload: Body) -> Body:
        return payload

    return application


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_domain_errors_carry_their_status_and_type() -> None:
    response = await call("GET", "/conflict")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/already-there")
    assert body["title"] == "Conflict"
    assert body["detail"] == "Already there"
    assert body["status"] == 409


async def test_429_says_when_to_come_back() -> None:
    response = await call("GET", "/slow-down")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_unexpected_errors_leak_nothing() -> None:
    response = await call("GET", "/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "SELECT" not in response.text
    assert "app.py" not in response.text
    assert "Traceback" not in response.text


async def test_malformed_bodies_are_422_with_field_errors() -> None:
    response = await call("POST", "/body", json={"count": "many"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "count"


async def test_unknown_routes_are_problem_404s() -> None:
    response = await call("GET", "/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
