"""Typed helpers that build catalog data through the real API."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import httpx

from lugx.platform.bootstrap import Platform
from lugx.services.users.admin import grant_role
from tests.users.factories import Account, login, signed_up

_titles = itertools.count(1)


async def _account_with_role(client: httpx.AsyncClient, platform: Platform, role: str) -> Account:
    """A new user granted `role`, logged in again so the token carries it."""
    account = await signed_up(client)
    await grant_role(platform.runtimes["users"].ctx, account.user["username"], role)
    tokens = await login(client, account.user["username"])
    account.access_token = tokens["access_token"]
    return account


async def publisher_account(
    client: httpx.AsyncClient, platform: Platform, studio: str | None = None
) -> Account:
    """A user with the publisher role and their own publisher organisation."""
    account = await _account_with_role(client, platform, "publisher")
    name = studio or f"Studio {account.user['username']}"
    response = await client.post(
        "/api/v1/catalog/publishers", json={"name": name}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return account


async def admin_account(client: httpx.AsyncClient, platform: Platform) -> Account:
    return await _account_with_role(client, platform, "admin")


async def create_game(
    client: httpx.AsyncClient, publisher: Account, *, publish: bool = True, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": f"Test Game {next(_titles)}",
        "short_description": "A game made for tests.",
        "price": {"amount": 1999, "currency": "USD"},
        "genres": ["action"],
        "tags": ["singleplayer", "pixel-graphics"],
    }
    body.update(fields)
    response = await client.post("/api/v1/catalog/games", json=body, headers=publisher.headers)
    assert response.status_code == 201, response.text
    game: dict[str, Any] = response.json()
    if publish:
        published = await client.patch(
            f"/api/v1/catalog/games/{game['app_id']}",
            json={"status": "published"},
            headers=publisher.headers,
        )
        assert published.status_code == 200, published.text
        game = published.json()
    return game


def iso(moment: datetime) -> str:
    """A moment as the API writes it (UTC, `Z`)."""
    return moment.isoformat().replace("+00:00", "Z")


async def add_discount(
    client: httpx.AsyncClient,
    publisher: Account,
    app_id: int,
    percent: int,
    starts_at: datetime,
    ends_at: datetime,
) -> httpx.Response:
    """Schedule a discount (the caller checks the answer: some tests expect a refusal)."""
    return await client.post(
        f"/api/v1/catalog/games/{app_id}/discounts",
        json={"percent": percent, "starts_at": iso(starts_at), "ends_at": iso(ends_at)},
        headers=publisher.headers,
    )
