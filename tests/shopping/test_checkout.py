"""The checkout snapshot purchases asks for, the coupon uses it reserves, and what the order's
outcome (OrderPaid, OrderFailed, OrderExpired) does to the cart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Conflict, Forbidden
from lugx.services.shopping.models import Cart, CartItem
from lugx.services.shopping.service import CHECKOUT_HOLD
from tests.catalog.factories import admin_account
from tests.conftest import database_of
from tests.shopping.factories import (
    CART,
    add_to_cart,
    cart_of,
    coupon_state,
    deliver,
    games,
    held_with_coupon,
    make_coupon,
    paid,
    published,
    service_calls,
    shopper,
    shopping_as,
)
from tests.users.factories import Account, signed_up

Changer = Callable[[AsyncSession, Cart], Awaitable[None]]


async def test_a_checkout_freezes_the_priced_cart_once_per_order(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game, other) = await games(client, platform, 3000, 1000)
    await make_coupon(client, owner, code="TENOFF", percent=10, app_ids=[game["app_id"]])
    player = await shopper(client, [game["app_id"], other["app_id"]], "TENOFF")
    shopping = shopping_as(platform)
    order_id = uuid.uuid4()
    snapshot = await shopping.checkout(uuid.UUID(player.id), order_id)
    assert snapshot.order_id == order_id
    assert str(snapshot.user_id) == player.id
    assert [(i.app_id, i.final_price.amount, i.coupon_discount.amount) for i in snapshot.items] == [
        (game["app_id"], 3000, 300),
        (other["app_id"], 1000, 0),
    ]
    assert [i.amount_due.amount for i in snapshot.items] == [2700, 1000]
    assert snapshot.subtotal.amount == 4000
    assert snapshot.discount.amount == 300
    assert snapshot.total.amount == 3700
    assert snapshot.coupon is not None
    assert snapshot.coupon.code == "TENOFF"
    # Prices change afterwards; a retry of the same order still gets what was frozen.
    await client.patch(
        f"/api/v1/catalog/games/{game['app_id']}",
        json={"price": {"amount": 100, "currency": "USD"}},
        headers=owner.headers,
    )
    assert await shopping.checkout(uuid.UUID(player.id), order_id) == snapshot
    assert (await cart_of(client, player))["checkout_in_progress"] is True
    assert await coupon_state(platform, "TENOFF") == (1, ["reserved"])


async def test_one_checkout_of_a_cart_at_a_time(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, (game,) = await games(client, platform, 1000)
    player = await shopper(client, [game["app_id"]])
    shopping = shopping_as(platform)
    user_id, first = uuid.UUID(player.id), uuid.uuid4()
    racing = await asyncio.gather(
        *(shopping.checkout(user_id, first) for _ in range(5)), return_exceptions=True
    )
    assert all(not isinstance(r, BaseException) for r in racing)
    assert len({r.model_dump_json() for r in racing if not isinstance(r, BaseException)}) == 1
    with pytest.raises(Conflict, match="already in progress"):
        await shopping.checkout(user_id, uuid.uuid4())
    someone_else = await signed_up(client)
    with pytest.raises(Conflict, match="another checkout"):
        await shopping.checkout(uuid.UUID(someone_else.id), first)


async def test_an_empty_cart_cannot_be_checked_out(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    with pytest.raises(Conflict, match="empty"):
        await shopping_as(platform).checkout(uuid.UUID(player.id), uuid.uuid4())


async def test_only_purchases_may_check_out(client: httpx.AsyncClient, platform: Platform) -> None:
    _, (game,) = await games(client, platform, 1000)
    player = await shopper(client, [game["app_id"]])
    with pytest.raises(Forbidden):
        await shopping_as(platform, "reviews").checkout(uuid.UUID(player.id), uuid.uuid4())
    public = await client.post(
        "/internal/v1/shopping/checkouts",
        json={"user_id": player.id, "order_id": str(uuid.uuid4())},
        headers=player.headers,
    )
    assert public.status_code == 404  # the gateway routes only /api/v1
    assert (await cart_of(client, player))["checkout_in_progress"] is False


async def test_twenty_checkouts_race_for_five_uses(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    _, (game,) = await games(client, platform, 2000)
    await make_coupon(client, admin, code="FIRST5", percent=50, max_uses=5)
    players = [await shopper(client, [game["app_id"]], "FIRST5") for _ in range(20)]
    shopping = shopping_as(platform)
    results = await asyncio.gather(
        *(shopping.checkout(uuid.UUID(p.id), uuid.uuid4()) for p in players),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 5
    assert all(s.discount.amount == 1000 for s in won)
    assert len(lost) == 15
    assert all(isinstance(e, Conflict) for e in lost)
    assert await coupon_state(platform, "FIRST5") == (5, ["reserved"] * 5)
    # The losers' carts were left as they were, with no checkout in progress.
    loser_carts = [await cart_of(client, p) for p in players]
    assert sum(c["checkout_in_progress"] for c in loser_carts) == 5


async def test_a_per_user_limit_counts_reserved_uses(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    _, (game, other) = await games(client, platform, 2000, 1000)
    await make_coupon(client, admin, code="ONCE", percent=10, max_uses_per_user=1)
    player = await shopper(client, [game["app_id"]], "ONCE")
    order_id = uuid.uuid4()
    await shopping_as(platform).checkout(uuid.UUID(player.id), order_id)
    await deliver(platform, "OrderPaid", paid(player, order_id, [game["app_id"]], "ONCE"))
    await add_to_cart(client, player, other["app_id"])
    again = await client.post(f"{CART}/coupon", json={"code": "ONCE"}, headers=player.headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/coupon-user-limit")


async def test_order_paid_clears_the_cart_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    _, (game, kept) = await games(client, platform, 2000, 500)
    await make_coupon(client, admin, code="PAIDONCE", percent=10)
    player = await shopper(client, [game["app_id"]], "PAIDONCE")
    order_id = uuid.uuid4()
    await shopping_as(platform).checkout(uuid.UUID(player.id), order_id)
    await add_to_cart(client, player, kept["app_id"])  # added after the checkout: stays
    payload = paid(player, order_id, [game["app_id"]], "PAIDONCE")
    event = await deliver(platform, "OrderPaid", payload)
    await deliver(platform, "OrderPaid", payload, id=event.id)  # a redelivery
    await deliver(platform, "OrderPaid", payload)  # the same fact, published twice
    cart = await cart_of(client, player)
    assert [line["app_id"] for line in cart["items"]] == [kept["app_id"]]
    assert cart["checkout_in_progress"] is False
    assert await coupon_state(platform, "PAIDONCE") == (1, ["confirmed"])
    cleared = await published(platform, "shopping", "CartCleared")
    assert cleared == [
        {"user_id": player.id, "order_id": str(order_id), "app_ids": [game["app_id"]]}
    ]


@pytest.mark.parametrize("outcome", ["OrderFailed", "OrderExpired"])
async def test_a_failed_or_expired_order_releases_the_coupon_and_the_cart(
    client: httpx.AsyncClient, platform: Platform, outcome: str
) -> None:
    player, _game, order_id = await held_with_coupon(client, platform, "RELEASE", max_uses=1)
    shopping = shopping_as(platform)
    assert await coupon_state(platform, "RELEASE") == (1, ["reserved"])
    payload = {"order_id": str(order_id), "user_id": player.id, "reason": "card_declined"}
    await deliver(platform, outcome, payload)
    await deliver(platform, outcome, payload)  # published twice: released once
    assert await coupon_state(platform, "RELEASE") == (0, ["released"])
    cart = await cart_of(client, player)
    assert len(cart["items"]) == 1
    assert cart["checkout_in_progress"] is False
    retry = await shopping.checkout(uuid.UUID(player.id), uuid.uuid4())
    assert retry.discount.amount == 200
    assert await coupon_state(platform, "RELEASE") == (1, ["released", "reserved"])


async def test_a_checkout_whose_order_never_came_lets_go_of_the_cart(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Purchases died between freezing the cart and writing the order: no event will ever
    settle that checkout, so its hold lapses (service.CHECKOUT_HOLD) and the player can retry."""
    _, (game,) = await games(client, platform, 1000)
    player = await shopper(client, [game["app_id"]])
    shopping = shopping_as(platform)
    await shopping.checkout(uuid.UUID(player.id), uuid.uuid4())
    with pytest.raises(Conflict):
        await shopping.checkout(uuid.UUID(player.id), uuid.uuid4())
    async with database_of(platform, "shopping").session() as session:
        await session.execute(
            update(Cart).values(
                checkout_started_at=datetime.now(UTC) - CHECKOUT_HOLD - timedelta(1)
            )
        )
    assert (await cart_of(client, player))["checkout_in_progress"] is False
    retried = await shopping.checkout(uuid.UUID(player.id), uuid.uuid4())
    assert retried.total.amount == 1000


async def test_a_cart_changed_while_it_was_priced_is_not_frozen(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the read and the write the catalog and purchases are asked: a change the player
    makes meanwhile (another tab) refuses the checkout, reserving and holding nothing."""
    admin = await admin_account(client, platform)
    _, (game, other, third) = await games(client, platform, 2000, 1000, 500)
    await make_coupon(client, admin, code="RACE10", percent=10)
    friend = await signed_up(client)

    async def line_gone(session: AsyncSession, cart: Cart) -> None:
        await session.execute(delete(CartItem).where(CartItem.app_id == other["app_id"]))

    async def line_added(session: AsyncSession, cart: Cart) -> None:
        session.add(CartItem(cart_id=cart.id, app_id=third["app_id"], title="3", type="game"))

    async def line_swapped(session: AsyncSession, cart: Cart) -> None:
        await line_gone(session, cart)
        await line_added(session, cart)

    async def now_a_gift(session: AsyncSession, cart: Cart) -> None:
        await session.execute(
            update(CartItem)
            .where(CartItem.app_id == other["app_id"])
            .values(recipient_id=uuid.UUID(friend.id))
        )

    async def coupon_off(session: AsyncSession, cart: Cart) -> None:
        cart.coupon_code = None

    for change in (line_gone, line_added, line_swapped, now_a_gift, coupon_off):
        player = await shopper(client, [game["app_id"], other["app_id"]], "RACE10")

        async def meanwhile(call: str, change: Changer = change, player: Account = player) -> None:
            if call.startswith("CatalogClient"):
                async with database_of(platform, "shopping").session() as session:
                    cart = (
                        await session.execute(
                            select(Cart).where(Cart.user_id == uuid.UUID(player.id))
                        )
                    ).scalar_one()
                    await change(session, cart)

        with service_calls(monkeypatch, before=meanwhile), pytest.raises(Conflict) as refused:
            await shopping_as(platform).checkout(uuid.UUID(player.id), uuid.uuid4())
        assert refused.value.code == "cart-changed", change.__name__
        assert (await cart_of(client, player))["checkout_in_progress"] is False
        assert await coupon_state(platform, "RACE10") == (0, [])
    # Unchanged, the same cart is frozen.
    player = await shopper(client, [game["app_id"], other["app_id"]], "RACE10")
    frozen = await shopping_as(platform).checkout(uuid.UUID(player.id), uuid.uuid4())
    assert frozen.discount.amount == 300
