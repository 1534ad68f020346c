"""What the benchmark measures. A scenario names the app to serve and a setup that, given an
HTTP client on that server, prepares whatever it needs (accounts, tokens, data) through the API
and returns the one request to repeat under load.

Adding one (catalog detail, search, checkout) is a setup function and a line in SCENARIOS.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from lugx.bench.server import BenchError


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Setup = Callable[[httpx.AsyncClient], Awaitable[Request]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    app: str  # a key of lugx.bench.apps.APPS
    setup: Setup
    baseline: bool = False
    target_ratio: float | None = None  # the req/s it should reach, as a share of the baseline's


async def hello(_http: httpx.AsyncClient) -> Request:
    return Request("GET", "/")


async def signed_in(http: httpx.AsyncClient) -> dict[str, str]:
    """A new player, registered and signed in through the API: the Authorization header."""
    username = f"bench{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    await _expect(
        http.post(
            "/api/v1/users/register",
            json={"username": username, "email": f"{username}@bench.example", "password": password},
        ),
        "register",
    )
    tokens = await _expect(
        http.post("/api/v1/users/login", json={"login": username, "password": password}),
        "login",
    )
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def users_me(http: httpx.AsyncClient) -> Request:
    return Request("GET", "/api/v1/users/me", headers=await signed_in(http))


async def _expect(pending: Awaitable[httpx.Response], step: str) -> httpx.Response:
    response = await pending
    if not response.is_success:
        raise BenchError(
            f"setup step {step!r} failed: {response.status_code} {response.text[:300]}"
        )
    return response


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("hello", "Starlette hello world (baseline)", "hello", hello, baseline=True),
    Scenario(
        "users-me",
        "GET /api/v1/users/me via the gateway",
        "embedded",
        users_me,
        target_ratio=0.15,
    ),
)
