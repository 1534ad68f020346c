"""The library: privacy, free claims, product keys, playtime, pagination, gifts, owned lookup."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Forbidden
from lugx.services.catalog.client import CatalogClient
from lugx.services.catalog.schemas import GameDetail
from lugx.services.purchases.client import PurchasesClient
from tests.conftest import database_of
from tests.payments.factories import balance
from tests.purchases.factories import (
    API,
    LIBRARY,
    admin,
    buyer,
    checkout,
    library_of,
    paid_order,
    purchases_as,
    store,
)
from tests.users.factories import signed_up


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_nobody_reads_another_players_orders_or_library(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 999)
    owner = await buyer(client, app_id, wallet=2000)
    order = await paid_order(client, owner)
    stranger = await signed_up(client)
    for path in (f"{API}/orders/{order['id']}", f"{API}/orders/{order['id']}/receipt"):
        assert (await client.get(path, headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{API}/orders", headers=stranger.headers)).json()["items"] == []
    assert await library_of(client, stranger) == []
    assert (await client.get(LIBRARY)).status_code == 401
    boss = await admin(client, platform)
    seen = await client.get(f"{API}/orders/{order['id']}", headers=boss.headers)
    assert seen.status_code == 200


async def test_free_games_are_claimed_once_and_priced_ones_refused(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    free, priced = await store(client, platform, 0, 1999)
    player = await signed_up(client)
    claimed = await client.post(f"{LIBRARY}/{free}/claim", headers=player.headers)
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["source"] == "free"
    again = await client.post(f"{LIBRARY}/{free}/claim", headers=player.headers)
    assert again.status_code == 409
    refused = await client.post(f"{LIBRARY}/{priced}/claim", headers=player.headers)
    assert refused.status_code == 409
    missing = await client.post(f"{LIBRARY}/999999999/claim", headers=player.headers)
    assert missing.status_code == 404
    assert [e["app_id"] for e in await library_of(client, player)] == [free]


async def test_product_keys_redeem_once(client: httpx.AsyncClient, platform: Platform) -> None:
    [app_id] = await store(client, platform, 2999)
    boss = await admin(client, platform)
    player, other = await signed_up(client), await signed_up(client)
    body = {"app_id": app_id, "count": 3}
    assert (await client.post(f"{API}/keys", json=body, headers=player.headers)).status_code == 403
    too_many = await client.post(f"{API}/keys", json={**body, "count": 101}, headers=boss.headers)
    assert too_many.status_code == 422
    made = await client.post(f"{API}/keys", json=body, headers=boss.headers)
    assert made.status_code == 201, made.text
    keys = made.json()["keys"]
    assert len(set(keys)) == 3
    redeemed = await client.post(
        f"{API}/keys/redeem", json={"key": keys[0].lower()}, headers=player.headers
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["source"] == "key"
    twice = await client.post(f"{API}/keys/redeem", json={"key": keys[0]}, headers=other.headers)
    assert twice.status_code == 409
    # Owning the game already: refused, and the key stays good for someone else.
    owned = await client.post(f"{API}/keys/redeem", json={"key": keys[1]}, headers=player.headers)
    assert owned.status_code == 409
    ok = await client.post(f"{API}/keys/redeem", json={"key": keys[1]}, headers=other.headers)
    assert ok.status_code == 201
    bogus = await client.post(
        f"{API}/keys/redeem", json={"key": "AAAAA-BBBBB-CCCCC"}, headers=other.headers
    )
    assert bogus.status_code == 404


async def test_claims_and_keys_hold_no_write_lock_while_the_catalog_answers(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog is asked first, the write transaction opened after: while the catalog
    answers, another write to purchases goes through (on SQLite a held writer would block it
    until the answer, which here waits for that write: the request would never end)."""
    free, priced = await store(client, platform, 0, 1999)
    boss, player = await admin(client, platform), await signed_up(client)
    purchases = database_of(platform, "purchases")
    ask_catalog = CatalogClient.game
    writes = []

    async def write_then_answer(self: CatalogClient, app_id: int) -> GameDetail:
        async with asyncio.timeout(5), purchases.session() as session:
            writes.append((await session.execute(text("SELECT 1"))).scalar_one())
        return await ask_catalog(self, app_id)

    monkeypatch.setattr(CatalogClient, "game", write_then_answer)
    claimed = await client.post(f"{LIBRARY}/{free}/claim", headers=player.headers)
    assert claimed.status_code == 201, claimed.text
    keys = await client.post(
        f"{API}/keys", json={"app_id": priced, "count": 1}, headers=boss.headers
    )
    assert keys.status_code == 201, keys.text
    assert writes == [1, 1]


async def test_playtime_is_validated_and_totalled(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [free] = await store(client, platform, 0)
    player = await signed_up(client)
    path = f"{LIBRARY}/{free}/playtime"
    now = datetime.now(UTC)
    session = {
        "started_at": iso(now - timedelta(hours=2)),
        "ended_at": iso(now - timedelta(hours=1)),
    }
    assert (await client.post(path, json=session, headers=player.headers)).status_code == 404
    await client.post(f"{LIBRARY}/{free}/claim", headers=player.headers)
    bad = [
        {"started_at": iso(now - timedelta(hours=1)), "ended_at": iso(now - timedelta(hours=2))},
        {"started_at": iso(now), "ended_at": iso(now + timedelta(hours=1))},
        {"started_at": iso(now - timedelta(hours=30)), "ended_at": iso(now - timedelta(hours=1))},
        {"started_at": "2026-01-01T10:00:00", "ended_at": "2026-01-01T11:00:00"},
    ]
    for body in bad:
        response = await client.post(path, json=body, headers=player.headers)
        assert response.status_code == 422, body
    recorded = await client.post(path, json=session, headers=player.headers)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["playtime_minutes"] == 60
    overlap = {
        "started_at": iso(now - timedelta(minutes=90)),
        "ended_at": iso(now - timedelta(minutes=30)),
    }
    assert (await client.post(path, json=overlap, headers=player.headers)).status_code == 409
    after = {"started_at": iso(now - timedelta(minutes=50)), "ended_at": iso(now)}
    total = await client.post(path, json=after, headers=player.headers)
    assert total.json()["playtime_minutes"] == 110
    [entry] = await library_of(client, player)
    assert entry["playtime_minutes"] == 110
    assert entry["last_played_at"] is not None


async def test_the_library_pages_newest_first(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    app_ids = await store(client, platform, 0, 0, 0, 0, 0)
    player = await signed_up(client)
    for app_id in app_ids:
        assert (
            await client.post(f"{LIBRARY}/{app_id}/claim", headers=player.headers)
        ).status_code == 201
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(LIBRARY, params=params, headers=player.headers)).json()
        seen += [e["app_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(app_ids))
    bad = await client.get(LIBRARY, params={"cursor": "forged.cursor"}, headers=player.headers)
    assert bad.status_code == 400


async def test_a_gift_goes_to_its_recipient(client: httpx.AsyncClient, platform: Platform) -> None:
    [app_id] = await store(client, platform, 1500)
    friend = await signed_up(client)
    giver = await buyer(client, app_id, wallet=3000, gifts={app_id: friend.id})
    order = await paid_order(client, giver)
    assert order["lines"][0]["recipient_id"] == friend.id
    assert await library_of(client, giver) == []
    [gift] = await library_of(client, friend)
    assert (gift["app_id"], gift["source"], gift["gifted_by"]) == (app_id, "gift", giver.id)


async def test_a_gift_to_someone_who_owns_it_by_then_is_refused(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 500)
    friend = await buyer(client, app_id, wallet=3000)
    giver = await buyer(client, app_id, wallet=3000, gifts={app_id: friend.id})
    await paid_order(client, friend)  # the friend buys it first, for themselves
    response = await checkout(client, giver, key="gift-1")
    assert response.status_code == 409, response.text
    assert (await client.get(f"{API}/orders", headers=giver.headers)).json()["items"] == []
    assert await balance(client, giver) == 3000


async def test_other_services_ask_what_a_player_owns(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    free, other = await store(client, platform, 0, 0)
    player = await signed_up(client)
    await client.post(f"{LIBRARY}/{free}/claim", headers=player.headers)
    owned = await purchases_as(platform, "reviews").owned(uuid.UUID(player.id), [free, other])
    assert list(owned) == [free]
    assert owned[free].source == "free"
    in_process = platform.runtimes["shopping"].ctx.client(PurchasesClient)  # run in-process
    assert in_process.local is not None
    assert await in_process.owned(uuid.UUID(player.id), [free, other]) == owned
    with pytest.raises(Forbidden):
        await purchases_as(platform, "users").owned(uuid.UUID(player.id), [free])
    path = f"/internal/v1/purchases/users/{player.id}/owned"
    assert (await client.get(path, params={"app_id": free})).status_code == 404  # not routed
