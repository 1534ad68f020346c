"""With the real purchases and payments services: what a player owns never goes in their cart
(or a gift to someone who owns it), and a paid order leaves the cart through OrderPaid."""

from __future__ import annotations

import httpx

from lugx.platform.bootstrap import Platform
from tests.payments.factories import balance
from tests.purchases.factories import buyer, checkout, eventually, paid_order
from tests.shopping.factories import (
    CART,
    WISHLIST,
    add_to_cart,
    cart_of,
    games,
    make_coupon,
    published,
)
from tests.users.factories import Account, signed_up


async def test_a_paid_order_leaves_the_cart_and_what_is_owned_stays_out(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game, other) = await games(client, platform, 1500, 800)
    await make_coupon(client, owner, code="OWNED10", percent=10, app_ids=[game["app_id"]])
    player = await buyer(client, game["app_id"], wallet=5000)
    applied = await client.post(f"{CART}/coupon", json={"code": "OWNED10"}, headers=player.headers)
    assert applied.status_code == 200
    order = await paid_order(client, player)

    async def cleared() -> bool:
        return any(
            e["order_id"] == order["id"]
            for e in await published(platform, "shopping", "CartCleared")
        )

    await eventually(cleared, what="CartCleared")
    cart = await cart_of(client, player)
    assert cart["items"] == []
    assert cart["checkout_in_progress"] is False
    again = await add_to_cart(client, player, game["app_id"])
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-owned")
    wished = await client.post(
        f"{WISHLIST}/items", json={"app_id": game["app_id"]}, headers=player.headers
    )
    assert wished.status_code == 409
    # A gift to someone who owns it is refused too; to someone who does not, it is fine.
    friend = await signed_up(client)
    assert (
        await add_to_cart(client, friend, game["app_id"], gift_for=player.id)
    ).status_code == 409
    assert (
        await add_to_cart(client, friend, other["app_id"], gift_for=player.id)
    ).status_code == 201


async def test_a_line_owned_since_it_was_added_stops_the_checkout(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """The cart shows it owned; the checkout is refused by purchases (which checks ownership in
    the transaction that would store the order), nothing is paid, and the cart is free again."""
    _, (game,) = await games(client, platform, 1000)
    player = await buyer(client, game["app_id"], wallet=5000)
    friend = await buyer(client, wallet=5000)
    gift = await add_to_cart(client, friend, game["app_id"], gift_for=player.id)
    assert gift.status_code == 201
    await paid_order(client, player)  # the player buys it for themself meanwhile
    line = (await cart_of(client, friend))["items"][0]
    assert line["owned"] is True
    assert (await cart_of(client, friend))["total"]["amount"] == 0
    refused = await checkout(client, friend)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/already-owned")
    assert "recipient already owns" in refused.json()["detail"]
    assert await balance(client, friend) == 5000
    await eventually(
        lambda: _checkout_free(client, friend), what="the cart's checkout hold released"
    )
    assert [item["app_id"] for item in (await cart_of(client, friend))["items"]] == [game["app_id"]]


async def _checkout_free(client: httpx.AsyncClient, account: Account) -> bool:
    return (await cart_of(client, account))["checkout_in_progress"] is False
