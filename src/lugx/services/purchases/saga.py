"""The checkout saga (docs/commerce.md), orchestrated here, one function per step.

    place   -> the order row, `pending`, under the player's Idempotency-Key      (commit)
    price   -> shopping freezes the cart for the order; lines and totals stored  (commit)
    charge  -> payments charges it, Idempotency-Key = order id (a retry never charges twice)
    settle  -> paid (+ entitlements + OrderPaid) | failed | awaiting_payment      (commit)

Each step commits on its own and is safe to run again, so a process killed between any two
is finished by the recovery loop (`recovery.py`) or by payments' events (`events.py`). No step
holds a transaction open while another service is asked something.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict, LugxError, NotFound, ServiceUnavailable
from lugx.platform.money import Money
from lugx.platform.service import ServiceContext
from lugx.services.catalog.client import CatalogClient
from lugx.services.payments.client import PaymentsClient
from lugx.services.payments.schemas import CardIn, ChargeRead
from lugx.services.purchases import library, service
from lugx.services.purchases import repository as repo
from lugx.services.purchases.crash import crash_point
from lugx.services.purchases.models import Order, OrderLine
from lugx.services.purchases.schemas import CardInput, CheckoutRequest
from lugx.services.purchases.service import ChargeOutcome
from lugx.services.shopping.client import ShoppingClient
from lugx.services.shopping.schemas import CheckoutLine, CheckoutRead
from lugx.services.users.client import UsersClient

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Placed:
    order_id: uuid.UUID
    replay: bool


async def load(ctx: ServiceContext, order_id: uuid.UUID) -> Order:
    async with ctx.db.session(write=False) as session:
        order = await repo.order(session, order_id)
    if order is None:
        raise NotFound("No such order", code="order-not-found")
    return order


async def checkout(
    ctx: ServiceContext, user_id: uuid.UUID, key: str, body: CheckoutRequest
) -> tuple[Order, bool]:
    """The whole saga for one request. Returns the order and whether this request made it (a
    replay of the Idempotency-Key returns the first order and moves nothing)."""
    placed = await place(ctx, user_id, key, body.payment_method)
    if placed.replay:
        return await load(ctx, placed.order_id), False
    crash_point(ctx.settings, "placed")
    await price(ctx, placed.order_id, user_id)
    crash_point(ctx.settings, "priced")
    outcome = await charge(ctx, placed.order_id, body.card)
    if outcome is not None:
        crash_point(ctx.settings, "charged")
        await settle(ctx, placed.order_id, outcome)
        crash_point(ctx.settings, "settled")
    order = await load(ctx, placed.order_id)
    await tell_shopping(ctx, order)
    return order, True


async def tell_shopping(ctx: ServiceContext, order: Order) -> None:
    """Shopping learns at once how the order ended, so the player's cart shows it before the
    response does (OrderPaid / OrderFailed tell it again; the second word changes nothing). If
    shopping cannot be reached now, the events are enough."""
    if order.status not in ("paid", "completed", "failed", "expired"):
        return
    status = order.status if order.status in ("failed", "expired") else "paid"
    lines = [(line.app_id, line.recipient_id) for line in order.lines]
    try:
        await ctx.client(ShoppingClient).settled(order.id, order.user_id, status, lines)
    except LugxError:
        log.warning("shopping not told of a settled order; its event will", order=str(order.id))


# --- 1. place -------------------------------------------------------------------------------


async def place(ctx: ServiceContext, user_id: uuid.UUID, key: str, method: str) -> Placed:
    async with ctx.db.session(write=False) as session:
        existing = await repo.order_by_key(session, user_id, key)
    if existing is not None:
        return Placed(existing.id, replay=True)
    order = service.new_order(user_id, key, method)
    try:
        async with ctx.db.session() as session:
            session.add(order)
            await session.flush()
    except IntegrityError:
        # Either the same key raced in (a replay) or another checkout holds the player's slot.
        async with ctx.db.session(write=False) as session:
            existing = await repo.order_by_key(session, user_id, key)
        if existing is not None:
            return Placed(existing.id, replay=True)
        raise Conflict(
            "Another checkout of yours is in progress; finish or wait for it",
            code="checkout-in-progress",
        ) from None
    return Placed(order.id, replay=False)


# --- 2. price -------------------------------------------------------------------------------


async def price(ctx: ServiceContext, order_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Shopping freezes the cart for this order; the lines are checked (gift recipients exist,
    nobody gets what they own) and stored. A refusal discards the order: nothing moved."""
    try:
        snapshot = await ctx.client(ShoppingClient).checkout(user_id, order_id)
    except (Conflict, NotFound) as exc:
        await refuse(ctx, order_id, "cart_refused")
        raise Conflict(exc.detail, code="cart-refused") from exc
    except LugxError:
        await refuse(ctx, order_id, "cart_unavailable")
        raise
    try:
        lines = [await _line(ctx, user_id, item) for item in snapshot.items]
        if not lines:
            raise Conflict("Your cart is empty", code="cart-empty")
    except LugxError:
        await refuse(ctx, order_id, "refused")
        raise
    await _store(ctx, order_id, snapshot, lines)


async def _store(
    ctx: ServiceContext, order_id: uuid.UUID, snapshot: CheckoutRead, lines: list[OrderLine]
) -> None:
    async with ctx.db.session() as session:
        order = await repo.order(session, order_id, lock=True)
        if order is None or order.status != "pending":
            raise Conflict("This checkout was settled meanwhile", code="order-state")
        await service.store_prices(
            session,
            ctx.events,
            order,
            lines,
            subtotal=snapshot.subtotal.amount,
            discount=snapshot.discount.amount,
            total=snapshot.total.amount,
            coupon_code=snapshot.coupon.code if snapshot.coupon else None,
        )


async def refuse(ctx: ServiceContext, order_id: uuid.UUID, reason: str) -> None:
    async with ctx.db.session() as session:
        order = await repo.order(session, order_id, lock=True)
        if order is not None and order.status == "pending" and order.charge_id is None:
            await service.discard(session, ctx.events, order, reason)


async def _line(ctx: ServiceContext, buyer: uuid.UUID, item: CheckoutLine) -> OrderLine:
    grants = await _grants(ctx, item)
    target = item.recipient_id or buyer
    if item.recipient_id is not None:
        await _check_recipient(ctx, buyer, item.recipient_id)
    async with ctx.db.session(write=False) as session:
        owned = await library.owned_app_ids(session, target, [int(g["app_id"]) for g in grants])
    if len(owned) == len(grants):
        who = "The recipient already owns" if item.recipient_id else "You already own"
        raise Conflict(f"{who} {item.title}", code="already-owned")
    return OrderLine(
        app_id=item.app_id,
        title=item.title,
        type=item.type,
        recipient_id=item.recipient_id,
        price=item.price.amount,
        final_price=item.final_price.amount,
        amount_due=item.amount_due.amount,
        grants=grants,
    )


async def _grants(ctx: ServiceContext, item: CheckoutLine) -> list[dict[str, Any]]:
    """What the line puts in a library: itself, or a bundle's items (asked of the catalog)."""
    if item.type != "bundle":
        return [{"app_id": item.app_id, "title": item.title}]
    catalog = ctx.client(CatalogClient)
    bundle = await catalog.game(item.app_id)
    return [
        {"app_id": app_id, "title": (await catalog.game(app_id)).title}
        for app_id in bundle.bundle_items
    ]


async def _check_recipient(ctx: ServiceContext, buyer: uuid.UUID, recipient: uuid.UUID) -> None:
    if recipient == buyer:
        raise Conflict("A gift is for someone else", code="gift-to-self")
    try:
        await ctx.client(UsersClient).profile(recipient)
    except NotFound as exc:
        raise NotFound("The gift's recipient does not exist", code="recipient-not-found") from exc


# --- 3. charge ------------------------------------------------------------------------------


def outcome_of(charge: ChargeRead) -> ChargeOutcome:
    return ChargeOutcome(
        status=charge.status,
        charge_id=charge.id,
        amount=charge.amount.amount,
        failure_code=charge.failure_code,
        card_brand=charge.card.brand if charge.card else None,
        card_last4=charge.card.last4 if charge.card else None,
    )


async def charge(
    ctx: ServiceContext, order_id: uuid.UUID, card: CardInput | None
) -> ChargeOutcome | None:
    """Ask payments to charge the order. None: no answer (the recovery loop will ask again)."""
    order = await load(ctx, order_id)
    if order.status != "pending" or not order.priced:
        return None
    if order.total == 0:
        return ChargeOutcome(status="succeeded")  # nothing to pay: free games, a full coupon
    try:
        made = await ctx.client(PaymentsClient).charge(
            user_id=order.user_id,
            order_id=order.id,
            amount=Money(amount=order.total, currency=order.currency),
            method="card" if order.payment_method == "card" else "wallet",
            card=CardIn(**card.model_dump()) if card is not None else None,
            idempotency_key=str(order.id),
        )
        return outcome_of(made)
    except ServiceUnavailable:
        log.warning("payments did not answer; the order stays pending", order_id=str(order_id))
        return None
    except LugxError as exc:
        # Payments refused the request itself (no wallet, a malformed card): the order fails.
        return ChargeOutcome(status="failed", failure_code=exc.code)


async def charge_of(ctx: ServiceContext, order: Order) -> ChargeOutcome:
    """Payments' record of the order's charge (recovery), or an outcome without a charge."""
    if order.priced and order.total == 0:
        return ChargeOutcome(status="succeeded")
    found = await ctx.client(PaymentsClient).charge_for_order(order.id)
    return outcome_of(found) if found is not None else ChargeOutcome(status=None)


# --- 4. settle ------------------------------------------------------------------------------


async def settle(ctx: ServiceContext, order_id: uuid.UUID, outcome: ChargeOutcome) -> None:
    deadline = timedelta(seconds=ctx.settings.purchases_payment_deadline_seconds)
    async with ctx.db.session() as session:
        order = await repo.order(session, order_id, lock=True)
        orphan = outcome.status == "succeeded"
        if order is not None:
            orphan = await service.settle(session, ctx.events, order, outcome, utcnow(), deadline)
        crash_point(ctx.settings, "settling")
    if orphan:
        await refund_orphan(ctx, outcome)


async def refund_orphan(ctx: ServiceContext, outcome: ChargeOutcome) -> None:
    """Money taken for an order that had failed or expired meanwhile goes straight back."""
    if outcome.charge_id is None or not outcome.amount:
        return
    log.warning("refunding a charge whose order can no longer be paid", charge=outcome.charge_id)
    await ctx.client(PaymentsClient).refund(
        outcome.charge_id,
        amount=Money(amount=outcome.amount, currency="USD"),
        reason="order no longer payable",
        idempotency_key=f"orphan-{outcome.charge_id}",
    )
