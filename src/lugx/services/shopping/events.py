"""Events of the shopping service.

Published (through the outbox, in the transaction of the change):
- `CartCleared` {user_id, order_id, app_ids}: an order was paid and its lines left the cart
- `PriceAlertTriggered` {user_id, app_id, target_price, final_price}: once per drop to or below
  the player's target (re-armed when the price rises above it again)
- `WishlistItemOnSale` {user_id, app_id, discount_percent, final_price}: a wished-for game's
  discount started (one per wishlisting user, once per discount)

Consumed:
- `OrderPaid` (purchases): remove the bought lines, confirm the coupon use, free the cart's
  checkout slot, publish `CartCleared`
- `OrderFailed` / `OrderExpired` (purchases): release the coupon use and the checkout slot
  (each of the three, for an order purchases has already told this process of through the
  settled call, only repeats it: acknowledged without a transaction, see `settled_here`)
- `GamePriceChanged`, `GameDiscounted` (catalog): the price read model and the alerts

Every handler is idempotent on its own (beyond the inbox): the checkout row's status says
whether an order was settled, the read model's `as_of` drops news older than what it knows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import utcnow
from lugx.platform.events import DoneHere, Event, EventBus, Handler, SkipWhen
from lugx.platform.service import ServiceContext
from lugx.services.shopping import repository as repo
from lugx.services.shopping.models import Coupon, KnownPrice, WishlistItem


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


# --- orders ---------------------------------------------------------------------------------


async def order_paid(session: AsyncSession, bus: EventBus, payload: dict[str, Any]) -> None:
    """Settle the order's checkout once (an order never frozen here is recorded too), free the
    cart's checkout slot, take the bought lines out of the cart, confirm the coupon use."""
    order_id, user_id = uuid.UUID(payload["order_id"]), uuid.UUID(payload["user_id"])
    now = utcnow()
    frozen = await repo.settle_checkout(
        session, order_id, user_id, "paid", now, record_unknown=True
    )
    if frozen is None:
        return  # settled already
    await repo.unmark_checkout(session, user_id, order_id)
    bought = [
        (int(line["app_id"]), _uuid(line.get("recipient_id"))) for line in payload.get("lines", [])
    ]
    await repo.remove_bought(session, user_id, bought)
    if frozen.get("coupon"):  # a use is reserved with the snapshot that names its coupon
        for use in await repo.uses_of_order(session, order_id):
            if use.status == "released":  # released by a timeout, paid after all: it counts
                coupon = await session.get(Coupon, use.coupon_id)
                if coupon is not None:
                    coupon.uses += 1
            use.status = "confirmed"
        await session.flush()
    await bus.publish(
        session,
        "CartCleared",
        key=str(user_id),
        payload={
            "user_id": str(user_id),
            "order_id": str(order_id),
            "app_ids": sorted({app_id for app_id, _ in bought}),
        },
    )


async def order_released(session: AsyncSession, payload: dict[str, Any]) -> None:
    """The order failed or expired: its coupon use and the cart's checkout slot are free again;
    the cart itself is left as it was. An order never frozen here reserved nothing."""
    order_id, user_id = uuid.UUID(payload["order_id"]), uuid.UUID(payload["user_id"])
    frozen = await repo.settle_checkout(
        session, order_id, user_id, "released", utcnow(), record_unknown=False
    )
    if frozen is None:
        return  # settled already, or never frozen here
    await repo.unmark_checkout(session, user_id, order_id)
    if frozen.get("coupon"):
        for use in await repo.uses_of_order(session, order_id):
            if use.status == "reserved":
                use.status = "released"
                await repo.give_back_use(session, use.coupon_id)
        await session.flush()


# --- prices ---------------------------------------------------------------------------------


async def _remember(
    session: AsyncSession,
    known: KnownPrice | None,
    app_id: int,
    price: tuple[int, int, int],
    as_of: datetime,
) -> KnownPrice | None:
    """Update the read model with `price` (base, final, percent) on its row as the caller read
    it, locked (repo.known_price): a price change and a discount about one app may be delivered
    at once (each event type has its own stream), and the older must not write over the newer
    once it committed. None when the news is older than what the row holds."""
    if known is not None and known.as_of > as_of:
        return None
    base, final, percent = price
    if known is None:
        known = KnownPrice(app_id=app_id, base_price=base, final_price=final, as_of=as_of)
        session.add(known)
    known.base_price, known.final_price, known.discount_percent = base, final, percent
    known.as_of = as_of
    await session.flush()
    return known


async def _check_alerts(
    session: AsyncSession, bus: EventBus, wishers: list[WishlistItem], app_id: int, final: int
) -> None:
    """`wishers` read locked (repo.wishers_of): a player setting a new target meanwhile must not
    have it marked fired by a decision taken on the old one."""
    for item in wishers:
        if item.alert_target is None:
            continue
        if final <= item.alert_target and item.alert_fired_at is None:
            item.alert_fired_at = utcnow()
            await bus.publish(
                session,
                "PriceAlertTriggered",
                key=str(item.user_id),
                payload={
                    "user_id": str(item.user_id),
                    "app_id": app_id,
                    "target_price": _money(item.alert_target),
                    "final_price": _money(final),
                },
            )
        elif final > item.alert_target and item.alert_fired_at is not None:
            item.alert_fired_at = None  # risen again: the next drop alerts again
    await session.flush()


async def price_changed(session: AsyncSession, bus: EventBus, event: Event) -> None:
    p = event.payload
    if p.get("currency", "USD") != "USD":
        return
    app_id, final = int(p["app_id"]), int(p["final_price"])
    known = await repo.known_price(session, app_id, locked=True)
    price = (int(p["new_price"]), final, known.discount_percent if known else 0)
    if await _remember(session, known, app_id, price, event.occurred_at):
        wishers = await repo.wishers_of(session, app_id, locked=True)
        await _check_alerts(session, bus, wishers, app_id, final)


async def discounted(session: AsyncSession, bus: EventBus, event: Event) -> None:
    p = event.payload
    app_id, final = int(p["app_id"]), int(p["final_price"])
    started = p["phase"] == "started"
    percent = int(p["percent"]) if started else 0
    known = await _remember(
        session,
        await repo.known_price(session, app_id, locked=True),
        app_id,
        (int(p["base_price"]), final, percent),
        event.occurred_at,
    )
    if known is None:
        return
    wishers = await repo.wishers_of(session, app_id, locked=True)
    if started:
        starts_at = datetime.fromisoformat(p["starts_at"])
        if known.sale_started_at != starts_at:
            known.sale_started_at = starts_at
            await _announce_sale(session, bus, wishers, app_id, percent, final)
    await _check_alerts(session, bus, wishers, app_id, final)


async def _announce_sale(
    session: AsyncSession,
    bus: EventBus,
    wishers: list[WishlistItem],
    app_id: int,
    percent: int,
    final: int,
) -> None:
    for item in wishers:
        await bus.publish(
            session,
            "WishlistItemOnSale",
            key=str(item.user_id),
            payload={
                "user_id": str(item.user_id),
                "app_id": app_id,
                "discount_percent": percent,
                "final_price": _money(final),
            },
        )


def settled_here(ctx: ServiceContext) -> DoneHere:
    """Orders purchases has told this process how they ended (the settled call): their
    OrderPaid / OrderFailed / OrderExpired only repeat it, and are acknowledged without a
    transaction."""
    return DoneHere.of(ctx.extras, "shopping.settled_here")


def consumers(ctx: ServiceContext) -> dict[str, Handler]:
    bus = ctx.events
    told = settled_here(ctx).event_about("order_id")

    async def paid(session: AsyncSession, event: Event) -> None:
        await order_paid(session, bus, event.payload)

    async def released(session: AsyncSession, event: Event) -> None:
        await order_released(session, event.payload)

    async def price(session: AsyncSession, event: Event) -> None:
        await price_changed(session, bus, event)

    async def discount(session: AsyncSession, event: Event) -> None:
        await discounted(session, bus, event)

    return {
        "OrderPaid": SkipWhen(paid, told),
        "OrderFailed": SkipWhen(released, told),
        "OrderExpired": SkipWhen(released, told),
        "GamePriceChanged": price,
        "GameDiscounted": discount,
    }
