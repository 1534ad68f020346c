"""Discounts: the price a player sees is computed for the moment asked; discounts start and end
on schedule and announce themselves."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from lugx.platform.bootstrap import Platform
from lugx.services.catalog import service
from lugx.services.catalog.models import EVENTS, Discount
from tests.catalog.factories import add_discount, create_game, publisher_account
from tests.conftest import database_of


async def test_a_running_discount_lowers_the_final_price(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 1999, "currency": "USD"})
    now = datetime.now(UTC)
    response = await add_discount(
        client, owner, game["app_id"], 75, now - timedelta(minutes=1), now + timedelta(days=2)
    )
    assert response.status_code == 201, response.text
    page = (await client.get(f"/api/v1/catalog/games/{game['app_id']}")).json()
    assert page["price"]["amount"] == 1999
    assert page["final_price"]["amount"] == 500  # 4.9975 rounds half up to 5.00
    assert page["discount_percent"] == 75
    assert page["discount_ends_at"] is not None
    async with database_of(platform, "catalog").session(write=False) as session:
        rows = (await session.execute(select(EVENTS.outbox))).all()
    started = [orjson.loads(r.payload) for r in rows if r.type == "GameDiscounted"]
    assert [e["phase"] for e in started] == ["started"]
    assert started[0]["final_price"] == 500


async def test_a_scheduled_discount_starts_and_ends_on_time(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 1000, "currency": "USD"})
    now = datetime.now(UTC)
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=3)
    response = await add_discount(client, owner, game["app_id"], 40, starts, ends)
    assert response.status_code == 201
    url = f"/api/v1/catalog/games/{game['app_id']}"
    assert (await client.get(url)).json()["final_price"]["amount"] == 1000
    ctx = platform.runtimes["catalog"].ctx
    catalog = ctx.extras["catalog"]

    async def tick(at: datetime) -> list[int]:
        async with ctx.db.session() as session:
            changed = await service.announce_discounts(session, catalog, at)
        await service.forget(catalog, *changed)
        return changed

    assert await tick(starts + timedelta(seconds=1)) == [game["app_id"]]
    # The stored window is real time; move it so that "now" is inside it.
    async with ctx.db.session() as session:
        await session.execute(update(Discount).values(starts_at=now - timedelta(minutes=5)))
        game_row = await service.repo.game_by_app_id(session, game["app_id"])
        assert game_row is not None
        await service.mirror_discount(session, game_row, now)
    await service.forget(catalog, game["app_id"])
    assert (await client.get(url)).json()["final_price"]["amount"] == 600
    assert await tick(ends + timedelta(seconds=1)) == [game["app_id"]]
    assert await tick(ends + timedelta(seconds=2)) == []  # announced once only
    async with ctx.db.session(write=False) as session:
        # In the order they were published: PostgreSQL returns rows in no set order (the
        # relay's updates move them).
        outbox = EVENTS.outbox
        rows = (await session.execute(select(outbox).order_by(outbox.c.occurred_at))).all()
    phases = [orjson.loads(r.payload)["phase"] for r in rows if r.type == "GameDiscounted"]
    assert phases == ["started", "ended"]


@pytest.mark.parametrize(
    ("percent", "start_offset", "end_offset"),
    [
        (5, 0, 1),  # under 10 %
        (95, 0, 1),  # over 90 %
        (50, 2, 1),  # ends before it starts
        (50, -5, -1),  # already over
        (50, 0, 200),  # longer than 90 days
    ],
)
async def test_bad_discounts_are_refused(
    client: httpx.AsyncClient,
    platform: Platform,
    percent: int,
    start_offset: int,
    end_offset: int,
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    now = datetime.now(UTC)
    response = await add_discount(
        client,
        owner,
        game["app_id"],
        percent,
        now + timedelta(days=start_offset),
        now + timedelta(days=end_offset),
    )
    assert response.status_code == 422, response.text
    listed = await client.get(
        f"/api/v1/catalog/games/{game['app_id']}/discounts", headers=owner.headers
    )
    assert listed.json() == []


async def test_overlapping_discounts_conflict(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    now = datetime.now(UTC)
    app_id, day = game["app_id"], timedelta(days=1)
    first = await add_discount(client, owner, app_id, 20, now + day, now + 5 * day)
    assert first.status_code == 201
    second = await add_discount(client, owner, app_id, 30, now + 4 * day, now + 8 * day)
    assert second.status_code == 409


async def test_prices_for_several_items_and_currencies(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    a = await create_game(
        client, owner, price={"amount": 1500, "currency": "USD"}, regional_prices={"EUR": 1300}
    )
    b = await create_game(client, owner, price={"amount": 500, "currency": "USD"})
    draft = await create_game(client, owner, publish=False)
    response = await client.get(
        "/api/v1/catalog/prices",
        params={"app_ids": [a["app_id"], b["app_id"], draft["app_id"]], "currency": "EUR"},
    )
    prices = response.json()
    assert prices[str(a["app_id"])]["final_price"] == {"amount": 1300, "currency": "EUR"}
    # No EUR price set: the base (USD) price, said so.
    assert prices[str(b["app_id"])]["final_price"] == {"amount": 500, "currency": "USD"}
    assert str(draft["app_id"]) not in prices


async def test_two_announcers_at_once_announce_a_discount_once(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two catalog processes announcing at the same moment: the second one passes over the
    discounts the first has taken (PostgreSQL; on SQLite it waits for the one writer), so a
    discount's start goes out once, not as two events with ids of their own."""
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 1000, "currency": "USD"})
    starts = datetime.now(UTC) + timedelta(hours=1)
    response = await add_discount(client, owner, game["app_id"], 40, starts, starts + timedelta(1))
    assert response.status_code == 201
    ctx = platform.runtimes["catalog"].ctx
    catalog = ctx.extras["catalog"]
    first_read, second_done = asyncio.Event(), asyncio.Event()
    read = service.repo.discounts_to_announce

    async def held_read(session: Any, now: datetime, **kw: Any) -> Any:
        found = await read(session, now, **kw)
        if not first_read.is_set():
            first_read.set()
            with contextlib.suppress(TimeoutError):  # SQLite: the second cannot start yet
                await asyncio.wait_for(second_done.wait(), 2)
        return found

    monkeypatch.setattr(service.repo, "discounts_to_announce", held_read)

    async def tick() -> list[int]:
        async with ctx.db.session() as session:
            return await service.announce_discounts(session, catalog, starts + timedelta(seconds=1))

    async def second() -> list[int]:
        await first_read.wait()
        try:
            return await tick()
        finally:
            second_done.set()

    changed = await asyncio.gather(tick(), second())
    assert sorted(changed, key=len) == [[], [game["app_id"]]]
    async with ctx.db.session(write=False) as session:
        rows = (await session.execute(select(EVENTS.outbox))).all()
    phases = [orjson.loads(r.payload)["phase"] for r in rows if r.type == "GameDiscounted"]
    assert phases == ["started"]
