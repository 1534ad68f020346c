"""Typed helpers that build reviews data through the real API: games from the catalog, owners
through the purchases service's product keys, reviews through the reviews service."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import admin_account, create_game, publisher_account
from tests.users.factories import Account, signed_up

REVIEWS = "/api/v1/reviews"
_texts = itertools.count(1)


async def a_game(
    client: httpx.AsyncClient, platform: Platform, **fields: Any
) -> tuple[Account, dict[str, Any]]:
    """A publisher and their published game."""
    publisher = await publisher_account(client, platform)
    return publisher, await create_game(client, publisher, **fields)


async def owners(
    client: httpx.AsyncClient, platform: Platform, app_id: int, count: int
) -> list[Account]:
    """`count` new players, each owning the game through a product key they redeemed."""
    admin = await admin_account(client, platform)
    made = await client.post(
        "/api/v1/purchases/keys", json={"app_id": app_id, "count": count}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    players = []
    for key in made.json()["keys"]:
        player = await signed_up(client)
        redeemed = await client.post(
            "/api/v1/purchases/keys/redeem", json={"key": key}, headers=player.headers
        )
        assert redeemed.status_code == 201, redeemed.text
        players.append(player)
    return players


async def post_review(
    client: httpx.AsyncClient,
    author: Account,
    app_id: int,
    *,
    recommended: bool = True,
    expect: int = 201,
    **fields: Any,
) -> dict[str, Any]:
    body = {"recommended": recommended, "body": f"Review number {next(_texts)}.", **fields}
    response = await client.post(
        f"{REVIEWS}/games/{app_id}/reviews", json=body, headers=author.headers
    )
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def vote(
    client: httpx.AsyncClient, voter: Account, review_id: str, value: bool, *, expect: int = 200
) -> dict[str, Any]:
    response = await client.put(
        f"{REVIEWS}/{review_id}/votes/helpful", json={"value": value}, headers=voter.headers
    )
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def players(client: httpx.AsyncClient, count: int) -> list[Account]:
    return [await signed_up(client) for _ in range(count)]


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0, what: str = "condition"
) -> None:
    """Wait for an event's effect in another service (delivered after the commit)."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def walk(
    client: httpx.AsyncClient, path: str, *, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Every page of a list, first to last, following each `next_cursor` until there is none."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
