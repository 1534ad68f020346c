"""A bundle's price completes the set: what the viewer owns (asked of purchases) is left out."""

from __future__ import annotations

import httpx

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import admin_account, create_game, publisher_account
from tests.users.factories import signed_up


async def test_a_bundle_is_priced_for_what_the_viewer_still_lacks(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    first = await create_game(client, owner, price={"amount": 2000, "currency": "USD"})
    second = await create_game(client, owner, price={"amount": 1000, "currency": "USD"})
    bundle = await create_game(
        client,
        owner,
        type="bundle",
        bundle_items=[first["app_id"], second["app_id"]],
        bundle_discount_percent=10,
        price={"amount": 0, "currency": "USD"},
    )
    player = await signed_up(client)
    boss = await admin_account(client, platform)
    made = await client.post(
        "/api/v1/purchases/keys", json={"app_id": first["app_id"], "count": 1}, headers=boss.headers
    )
    assert made.status_code == 201, made.text
    redeemed = await client.post(
        "/api/v1/purchases/keys/redeem",
        json={"key": made.json()["keys"][0]},
        headers=player.headers,
    )
    assert redeemed.status_code in (200, 201), redeemed.text
    price_path = f"/api/v1/catalog/games/{bundle['app_id']}/price"
    # Anonymous, and a player who owns nothing yet: the whole set, less 10 %.
    whole = (await client.get(price_path)).json()
    assert whole["final_price"] == {"amount": 2700, "currency": "USD"}
    # Owning the first game, the player pays for the second only, less 10 %.
    mine = (await client.get(price_path, headers=player.headers)).json()
    assert mine["price"] == {"amount": 1000, "currency": "USD"}
    assert mine["final_price"] == {"amount": 900, "currency": "USD"}
