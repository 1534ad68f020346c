"""Price alerts and sale notices, fired by the catalog's real events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from lugx.platform.events import Event
from lugx.services.shopping import repository as repo
from lugx.services.shopping.models import KnownPrice, WishlistItem
from tests.conftest import database_of, newer_then_older
from tests.shopping.factories import WISHLIST, eventually, games, published
from tests.users.factories import Account, signed_up


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def known(platform: Platform, app_id: int) -> int | None:
    async with database_of(platform, "shopping").session(write=False) as session:
        price = (
            await session.execute(select(KnownPrice.final_price).where(KnownPrice.app_id == app_id))
        ).scalar_one_or_none()
    return price


async def set_price(
    client: httpx.AsyncClient, platform: Platform, owner: Account, app_id: int, amount: int
) -> None:
    response = await client.patch(
        f"/api/v1/catalog/games/{app_id}",
        json={"price": {"amount": amount, "currency": "USD"}},
        headers=owner.headers,
    )
    assert response.status_code == 200

    async def seen() -> bool:
        return await known(platform, app_id) == amount

    await eventually(seen)


async def alert(
    client: httpx.AsyncClient, player: Account, app_id: int, amount: int, currency: str = "USD"
) -> httpx.Response:
    return await client.put(
        f"{WISHLIST}/items/{app_id}/alert",
        json={"target_price": {"amount": amount, "currency": currency}},
        headers=player.headers,
    )


async def test_setting_an_alert_needs_a_wish_and_a_lower_target(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, (game,) = await games(client, platform, 2000)
    player = await signed_up(client)
    assert (await alert(client, player, game["app_id"], 1000)).status_code == 404
    await client.post(f"{WISHLIST}/items", json={"app_id": game["app_id"]}, headers=player.headers)
    assert (await alert(client, player, game["app_id"], 2000)).status_code == 409
    assert (await alert(client, player, game["app_id"], 1000, "EUR")).status_code == 422
    response = await alert(client, player, game["app_id"], 1500)
    assert response.status_code == 200, response.text
    assert response.json()[0]["alert_target"] == {"amount": 1500, "currency": "USD"}
    cleared = await client.delete(
        f"{WISHLIST}/items/{game['app_id']}/alert", headers=player.headers
    )
    assert cleared.status_code == 204


async def test_an_alert_fires_once_per_drop(client: httpx.AsyncClient, platform: Platform) -> None:
    owner, (game,) = await games(client, platform, 2000)
    player, bystander = await signed_up(client), await signed_up(client)
    app_id = game["app_id"]
    for account in (player, bystander):
        await client.post(f"{WISHLIST}/items", json={"app_id": app_id}, headers=account.headers)
    assert (await alert(client, player, app_id, 1500)).status_code == 200
    await set_price(client, platform, owner, app_id, 1400)  # drops below: fires
    await set_price(client, platform, owner, app_id, 1300)  # still below: quiet
    await set_price(client, platform, owner, app_id, 1800)  # back above: re-armed
    await set_price(client, platform, owner, app_id, 1500)  # at the target: fires again
    alerts = await published(platform, "shopping", "PriceAlertTriggered")
    assert alerts == [
        {
            "user_id": player.id,
            "app_id": app_id,
            "target_price": {"amount": 1500, "currency": "USD"},
            "final_price": {"amount": final, "currency": "USD"},
        }
        for final in (1400, 1500)
    ]


async def test_a_sale_is_announced_to_each_wisher_and_can_trigger_alerts(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game, other) = await games(client, platform, 2000, 1000)
    fans = [await signed_up(client) for _ in range(3)]
    for fan in fans:
        await client.post(f"{WISHLIST}/items", json={"app_id": game["app_id"]}, headers=fan.headers)
    await client.post(
        f"{WISHLIST}/items", json={"app_id": other["app_id"]}, headers=fans[0].headers
    )
    assert (await alert(client, fans[0], game["app_id"], 1200)).status_code == 200
    now = datetime.now(UTC)
    started = await client.post(
        f"/api/v1/catalog/games/{game['app_id']}/discounts",
        json={"percent": 50, "starts_at": iso(now), "ends_at": iso(now + timedelta(days=1))},
        headers=owner.headers,
    )
    assert started.status_code == 201, started.text

    async def announced() -> bool:
        return len(await published(platform, "shopping", "WishlistItemOnSale")) >= 3

    await eventually(announced)
    sales = await published(platform, "shopping", "WishlistItemOnSale")
    assert sorted(s["user_id"] for s in sales) == sorted(f.id for f in fans)
    assert {(s["app_id"], s["discount_percent"], s["final_price"]["amount"]) for s in sales} == {
        (game["app_id"], 50, 1000)
    }
    alerts = await published(platform, "shopping", "PriceAlertTriggered")
    assert [(a["user_id"], a["final_price"]["amount"]) for a in alerts] == [(fans[0].id, 1000)]
    # The catalog's announcement arriving again (a new id: past the inbox) changes nothing.
    (payload,) = [
        p for p in await published(platform, "catalog", "GameDiscounted") if p["phase"] == "started"
    ]
    event = Event(
        type="GameDiscounted", producer="catalog", key=str(game["app_id"]), payload=payload
    )
    await platform.runtimes["shopping"].ctx.events.consumer.handle(event)
    assert len(await published(platform, "shopping", "WishlistItemOnSale")) == 3
    assert len(await published(platform, "shopping", "PriceAlertTriggered")) == 1


def price_event(app_id: int, amount: int, at: datetime) -> Event:
    return Event(
        type="GamePriceChanged",
        producer="catalog",
        key=str(app_id),
        occurred_at=at,
        payload={"app_id": app_id, "currency": "USD", "new_price": amount, "final_price": amount},
    )


async def test_two_price_events_at_once_leave_the_newer(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two price events about one game delivered at once: the newer one reads the known price
    and holds on before committing while the older one reads it too. The older must not write
    its price over the newer one's once that committed: it waits for the newer's lock
    (PostgreSQL) or its turn as the one writer (SQLite), then sees it is older."""
    owner, (game,) = await games(client, platform, 2000)
    app_id = game["app_id"]
    await set_price(client, platform, owner, app_id, 1900)  # the read model has the game
    consumer = platform.runtimes["shopping"].ctx.events.consumer
    now = datetime.now(UTC)
    await newer_then_older(
        monkeypatch,
        repo,
        "known_price",
        lambda: consumer.handle(price_event(app_id, 1200, now + timedelta(seconds=1))),
        lambda: consumer.handle(price_event(app_id, 1500, now)),
    )
    assert await known(platform, app_id) == 1200


async def test_a_new_target_set_while_an_alert_fires_stays_armed(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A price event finds the player's alert due (the old target) while the player sets a new,
    lower one. The new target must not end up marked as fired: on PostgreSQL the player's
    write waits for the alert's, on SQLite for its turn as the one writer."""
    _, (game,) = await games(client, platform, 2000)
    app_id = game["app_id"]
    player = await signed_up(client)
    await client.post(f"{WISHLIST}/items", json={"app_id": app_id}, headers=player.headers)
    assert (await alert(client, player, app_id, 1500)).status_code == 200
    wishers_read = asyncio.Event()
    read = repo.wishers_of

    async def slow_read(session: Any, app_id: int, **kw: Any) -> Any:
        found = await read(session, app_id, **kw)
        if not wishers_read.is_set():
            wishers_read.set()
            await asyncio.sleep(0.5)  # the player's change runs (or waits) meanwhile
        return found

    monkeypatch.setattr(repo, "wishers_of", slow_read)
    consumer = platform.runtimes["shopping"].ctx.events.consumer

    async def new_target() -> httpx.Response:
        await wishers_read.wait()
        return await alert(client, player, app_id, 1300)

    _, changed = await asyncio.gather(
        consumer.handle(price_event(app_id, 1400, datetime.now(UTC))), new_target()
    )
    assert changed.status_code == 200, changed.text
    async with database_of(platform, "shopping").session(write=False) as session:
        item = (
            await session.execute(select(WishlistItem).where(WishlistItem.app_id == app_id))
        ).scalar_one()
    assert (item.alert_target, item.alert_fired_at) == (1300, None)
