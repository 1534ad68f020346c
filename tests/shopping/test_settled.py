"""How an order's end reaches the cart: told at once by purchases (`ShoppingClient.settled`) and
again by the order's event; whichever comes first settles the checkout, once."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Conflict
from tests.catalog.factories import admin_account
from tests.shopping.factories import (
    add_to_cart,
    cart_of,
    coupon_state,
    deliver,
    games,
    held_with_coupon,
    make_coupon,
    paid,
    published,
    shopper,
    shopping_as,
)
from tests.users.factories import signed_up


async def test_paid_takes_out_exactly_the_lines_bought_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    _, (mine, gift, kept) = await games(client, platform, 2000, 1000, 500)
    await make_coupon(client, admin, code="SETTLE10", percent=10)
    friend, other_friend = await signed_up(client), await signed_up(client)
    player = await shopper(client, [mine["app_id"]], "SETTLE10")
    await add_to_cart(client, player, gift["app_id"], gift_for=friend.id)
    order_id = uuid.uuid4()
    shopping = shopping_as(platform)
    await shopping.checkout(uuid.UUID(player.id), order_id)
    await add_to_cart(client, player, kept["app_id"])  # added after the checkout
    bought = [
        (mine["app_id"], None),
        (gift["app_id"], uuid.UUID(friend.id)),
        (kept["app_id"], uuid.UUID(other_friend.id)),  # not this line: another recipient
    ]
    await shopping.settled(order_id, uuid.UUID(player.id), "paid", bought)
    cart = await cart_of(client, player)
    assert [line["app_id"] for line in cart["items"]] == [kept["app_id"]]
    assert cart["checkout_in_progress"] is False
    assert await coupon_state(platform, "SETTLE10") == (1, ["confirmed"])
    # Told again, and then the order's event: nothing more happens.
    await shopping.settled(order_id, uuid.UUID(player.id), "paid", bought)
    await deliver(platform, "OrderPaid", paid(player, order_id, [mine["app_id"]], "SETTLE10"))
    cleared = [
        e
        for e in await published(platform, "shopping", "CartCleared")
        if e["order_id"] == str(order_id)
    ]
    assert len(cleared) == 1
    assert cleared[0]["app_ids"] == sorted(app_id for app_id, _ in bought)
    assert await coupon_state(platform, "SETTLE10") == (1, ["confirmed"])
    # A retry of that checkout answers with what it froze, and holds nothing.
    retried = await shopping.checkout(uuid.UUID(player.id), order_id)
    assert [line.app_id for line in retried.items] == [mine["app_id"], gift["app_id"]]
    assert (await cart_of(client, player))["checkout_in_progress"] is False


async def test_an_order_never_frozen_here_is_settled_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, (game,) = await games(client, platform, 1000)
    player = await shopper(client, [game["app_id"]])
    shopping = shopping_as(platform)
    order_id = uuid.uuid4()
    await shopping.settled(order_id, uuid.UUID(player.id), "paid", [(game["app_id"], None)])
    await shopping.settled(order_id, uuid.UUID(player.id), "paid", [(game["app_id"], None)])
    assert (await cart_of(client, player))["items"] == []
    cleared = await published(platform, "shopping", "CartCleared")
    assert [e["order_id"] for e in cleared] == [str(order_id)]
    await add_to_cart(client, player, game["app_id"])
    with pytest.raises(Conflict, match="settled already"):
        await shopping.checkout(uuid.UUID(player.id), order_id)


async def test_failed_releases_the_hold_and_the_coupon_use_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player, game, order_id = await held_with_coupon(client, platform, "LETGO", max_uses=1)
    shopping = shopping_as(platform)
    await shopping.settled(order_id, uuid.UUID(player.id), "failed", [(game["app_id"], None)])
    await shopping.settled(order_id, uuid.UUID(player.id), "expired", [(game["app_id"], None)])
    payload = {"order_id": str(order_id), "user_id": player.id, "reason": "card_declined"}
    await deliver(platform, "OrderFailed", payload)
    assert await coupon_state(platform, "LETGO") == (0, ["released"])
    cart = await cart_of(client, player)
    assert [line["app_id"] for line in cart["items"]] == [game["app_id"]]
    assert cart["checkout_in_progress"] is False
    # An order never frozen here reserved nothing: its failure records nothing either.
    unknown = uuid.uuid4()
    await shopping.settled(unknown, uuid.UUID(player.id), "failed", [])
    frozen = await shopping.checkout(uuid.UUID(player.id), unknown)
    assert frozen.order_id == unknown
    assert frozen.discount.amount == 200


async def _inbox_rows(platform: Platform, event_id: uuid.UUID) -> int:
    ctx = platform.runtimes["shopping"].ctx
    inbox = ctx.events.tables.inbox
    async with ctx.db.session(write=False) as session:
        count = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        )
    return int(count or 0)


async def test_the_event_of_an_order_purchases_told_of_costs_no_transaction(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Told by the settled call, the order's own event only repeats it: acknowledged without
    an inbox row. An order nobody told of here is handled as usual, once."""
    _, (told, untold) = await games(client, platform, 2000, 1000)
    shopping = shopping_as(platform)
    player = await shopper(client, [told["app_id"]], None)
    order_id = uuid.uuid4()
    await shopping.checkout(uuid.UUID(player.id), order_id)
    await shopping.settled(order_id, uuid.UUID(player.id), "paid", [(told["app_id"], None)])
    repeat = await deliver(platform, "OrderPaid", paid(player, order_id, [told["app_id"]], None))
    assert await _inbox_rows(platform, repeat.id) == 0
    other = await shopper(client, [untold["app_id"]], None)
    untold_order = uuid.uuid4()
    await shopping.checkout(uuid.UUID(other.id), untold_order)
    event = await deliver(
        platform, "OrderPaid", paid(other, untold_order, [untold["app_id"]], None)
    )
    assert await _inbox_rows(platform, event.id) == 1
    assert (await cart_of(client, other))["items"] == []
