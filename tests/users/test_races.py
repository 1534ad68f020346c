"""Races that really race: many requests at once against one account."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.users.models import User
from tests.conftest import database_of
from tests.users.factories import PASSWORD, signed_up


async def test_one_refresh_token_used_ten_times_at_once_wins_once(
    client: httpx.AsyncClient,
) -> None:
    account = await signed_up(client)
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/users/token/refresh", json={"refresh_token": account.refresh_token}
            )
            for _ in range(10)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 9
    # Using a token twice is what a thief does: the whole session is gone, winner included.
    [winner] = [r.json() for r in responses if r.status_code == 200]
    after = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": winner["refresh_token"]}
    )
    assert after.status_code == 401


async def test_ten_identical_registrations_at_once_make_one_account(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    body = {"username": "magnusson", "email": "magnusson@example.com", "password": PASSWORD}
    responses = await asyncio.gather(
        *(client.post("/api/v1/users/register", json=body) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    async with database_of(platform, "users").session(write=False) as session:
        count = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    assert count == 1
