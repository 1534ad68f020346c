"""Wishlists: the owner's list in the owner's order, with prices now; public or private."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.shopping.models import WishlistItem
from tests.catalog.factories import create_game
from tests.conftest import database_of
from tests.shopping.factories import WISHLIST, games
from tests.users.factories import Account, signed_up


async def wish(client: httpx.AsyncClient, player: Account, app_id: int, **extra: object) -> int:
    response = await client.post(
        f"{WISHLIST}/items", json={"app_id": app_id, **extra}, headers=player.headers
    )
    return response.status_code


async def order_of(client: httpx.AsyncClient, player: Account) -> list[int]:
    response = await client.get(f"{WISHLIST}/items", headers=player.headers)
    assert response.status_code == 200, response.text
    return [item["app_id"] for item in response.json()["items"]]


async def rows(platform: Platform) -> int:
    async with database_of(platform, "shopping").session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(WishlistItem)) or 0)


async def test_a_wishlist_in_its_owners_order_with_prices_now(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (a, b, c) = await games(client, platform, 1000, 2000, 3000)
    player = await signed_up(client)
    assert await wish(client, player, a["app_id"]) == 201
    assert await wish(client, player, b["app_id"]) == 201
    assert await wish(client, player, c["app_id"], priority=1) == 201
    assert await order_of(client, player) == [c["app_id"], a["app_id"], b["app_id"]]
    await client.patch(
        f"/api/v1/catalog/games/{a['app_id']}",
        json={"price": {"amount": 750, "currency": "USD"}},
        headers=owner.headers,
    )
    items = (await client.get(f"{WISHLIST}/items", headers=player.headers)).json()["items"]
    assert [i["final_price"]["amount"] for i in items] == [3000, 750, 2000]
    assert [i["priority"] for i in items] == [1, 2, 3]
    assert items[0]["title"] == c["title"]
    page = (
        await client.get(f"{WISHLIST}/items", params={"limit": 2}, headers=player.headers)
    ).json()
    rest = await client.get(
        f"{WISHLIST}/items", params={"cursor": page["next_cursor"]}, headers=player.headers
    )
    assert [i["app_id"] for i in rest.json()["items"]] == [b["app_id"]]
    assert rest.json()["next_cursor"] is None
    whole = await client.get(f"{WISHLIST}/items", params={"limit": 3}, headers=player.headers)
    assert len(whole.json()["items"]) == 3
    assert whole.json()["next_cursor"] is None  # exactly one full page: no empty page after it
    reordered = await client.put(
        f"{WISHLIST}/order",
        json={"app_ids": [b["app_id"], c["app_id"], a["app_id"]]},
        headers=player.headers,
    )
    assert reordered.status_code == 204
    assert await order_of(client, player) == [b["app_id"], c["app_id"], a["app_id"]]
    removed = await client.delete(f"{WISHLIST}/items/{c['app_id']}", headers=player.headers)
    assert removed.status_code == 204
    assert await order_of(client, player) == [b["app_id"], a["app_id"]]
    settings = (await client.get(WISHLIST, headers=player.headers)).json()
    assert settings == {"user_id": player.id, "visibility": "private", "count": 2}


async def test_bad_wishes_are_refused_and_change_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game, other) = await games(client, platform, 1000, 500)
    draft = await create_game(client, owner, publish=False)
    player = await signed_up(client)
    assert await wish(client, player, game["app_id"]) == 201
    assert await wish(client, player, game["app_id"]) == 409
    assert await wish(client, player, draft["app_id"]) == 404
    assert await wish(client, player, 999_999_990) == 404
    assert await wish(client, player, other["app_id"], priority=0) == 422
    for order in ([], [game["app_id"], game["app_id"]], [game["app_id"], other["app_id"]]):
        response = await client.put(
            f"{WISHLIST}/order", json={"app_ids": order}, headers=player.headers
        )
        assert response.status_code == 422, order
    missing = await client.delete(f"{WISHLIST}/items/{other['app_id']}", headers=player.headers)
    assert missing.status_code == 404
    assert await rows(platform) == 1


async def test_a_private_wishlist_is_not_found_by_others(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, (game,) = await games(client, platform, 1000)
    player, other = await signed_up(client), await signed_up(client)
    await wish(client, player, game["app_id"])
    url = f"/api/v1/shopping/users/{player.id}/wishlist"
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.get(url)).status_code == 404
    mine = await client.get(url, headers=player.headers)
    assert [i["app_id"] for i in mine.json()["items"]] == [game["app_id"]]
    made_public = await client.patch(
        WISHLIST, json={"visibility": "public"}, headers=player.headers
    )
    assert made_public.json()["visibility"] == "public"
    seen = await client.get(url, headers=other.headers)
    assert seen.status_code == 200
    assert [i["app_id"] for i in seen.json()["items"]] == [game["app_id"]]
    assert (await client.get(url)).status_code == 200  # public means anyone
    # Another user cannot change it: every change acts on the caller's own list.
    await client.delete(f"{WISHLIST}/items/{game['app_id']}", headers=other.headers)
    assert await rows(platform) == 1
    bad = await client.patch(WISHLIST, json={"visibility": "friends"}, headers=player.headers)
    assert bad.status_code == 422
