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
from lugx.services.purchases import repository as repo
from lugx.services.purchases import service
from lugx.services.purchases.crash import crash_point
from lugx.services.purchases.models import Order, OrderLine
from lugx.services.purchases.paid_here import paid_here
from lugx.services.purchases.schemas import CheckoutRequest
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
        order = await repo.order(session, order_id, lines=True)
    if order is None:
        raise NotFound("No such order", code="order-not-found")
    return order


async def checkout(
    ctx: ServiceContext, user_id: uuid.UUID, key: str, body: CheckoutRequest
) -> tuple[Order, bool]:
    """The whole saga for one request. Returns the order and whether this request made it (a
    replay of the Idempotency-Key returns the first order and moves nothing). Each step hands
    the next the order as it wrote it: nothing this request wrote is read back."""
    placed = await place(ctx, user_id, key, body.payment_method)
    if placed.replay:
        return await load(ctx, placed.order_id), False
    crash_point(ctx.settings, "placed")
    priced = await price(ctx, placed.order_id, user_id)
    crash_point(ctx.settings, "priced")
    outcome = await charge(ctx, priced, body.card)
    settled = None
    if outcome is not None:
        crash_point(ctx.settings, "charged")
        settled = await settle(ctx, placed.order_id, outcome, lines=priced.lines)
        crash_point(ctx.settings, "settled")
    order = settled or await load(ctx, placed.order_id)  # no answer: still pending
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
    """Insert the order. Its unique keys decide the rest: the same Idempotency-Key again is a
    replay of that order, another checkout in flight for the player is a 409."""
    order_id = uuid.uuid4()
    try:
        order = service.new_order(order_id, user_id, key, method, utcnow())
        async with ctx.db.session(single=True) as session:
            await repo.insert_order(session, order)
    except IntegrityError:
        async with ctx.db.session(write=False) as session:
            existing = await repo.order_id_by_key(session, user_id, key)
        if existing is not None:
            return Placed(existing, replay=True)
        raise Conflict(
            "Another checkout of yours is in progress; finish or wait for it",
            code="checkout-in-progress",
        ) from None
    return Placed(order_id, replay=False)


# --- 2. price -------------------------------------------------------------------------------


async def price(ctx: ServiceContext, order_id: uuid.UUID, user_id: uuid.UUID) -> Order:
    """Shopping freezes the cart for this order; the lines are checked (gift recipients exist,
    nobody gets what they own) and stored. A refusal discards the order: nothing moved.
    Returns the priced order, with its lines."""
    try:
        snapshot = await ctx.client(ShoppingClient).checkout(user_id, order_id)
    except (Conflict, NotFound) as exc:
        await refuse(ctx, order_id, "cart_refused")
        raise Conflict(exc.detail, code="cart-refused") from exc
    except LugxError:
        await refuse(ctx, order_id, "cart_unavailable")
        raise
    try:
        if not snapshot.items:
            raise Conflict("Your cart is empty", code="cart-empty")
        await _check_recipients(ctx, user_id, snapshot.items)
        lines = [_line(item, await _grants(ctx, item)) for item in snapshot.items]
    except LugxError:
        await refuse(ctx, order_id, "refused")
        raise
    return await _store(ctx, order_id, user_id, snapshot, lines)


async def _store(
    ctx: ServiceContext,
    order_id: uuid.UUID,
    buyer: uuid.UUID,
    snapshot: CheckoutRead,
    lines: list[OrderLine],
) -> Order:
    """One transaction: what the receivers own already is read next to the write, so a line
    refused for it discards the order in the same commit."""
    order = None
    async with ctx.db.session() as session:
        owned = await repo.owned_by_each(session, service.wanted_apps(buyer, lines))
        refused = service.refused_line(buyer, lines, owned)
        if refused is not None:
            await service.discard(session, ctx.events, order_id, "refused")
        else:
            order = await service.store_prices(
                session,
                ctx.events,
                order_id,
                lines,
                subtotal=snapshot.subtotal.amount,
                discount=snapshot.discount.amount,
                total=snapshot.total.amount,
                coupon_code=snapshot.coupon.code if snapshot.coupon else None,
                now=utcnow(),
            )
    if refused is not None:
        who = "The recipient already owns" if refused.recipient_id else "You already own"
        raise Conflict(f"{who} {refused.title}", code="already-owned")
    if order is None:
        raise Conflict("This checkout was settled meanwhile", code="order-state")
    return order


async def refuse(ctx: ServiceContext, order_id: uuid.UUID, reason: str) -> None:
    async with ctx.db.session() as session:
        await service.discard(session, ctx.events, order_id, reason)


def _line(item: CheckoutLine, grants: list[dict[str, Any]]) -> OrderLine:
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
    """What the line puts in a library: itself, or a bundle's items (one catalog lookup answers
    the bundle and its items)."""
    if item.type != "bundle":
        return [{"app_id": item.app_id, "title": item.title}]
    known = await ctx.client(CatalogClient).sellables([item.app_id])
    bundle = known.get(item.app_id)
    if bundle is None:
        raise Conflict(f"{item.title} is no longer for sale", code="cart-refused")
    return [
        {"app_id": app_id, "title": known[app_id].title}
        for app_id in bundle.bundle_items
        if app_id in known
    ]


async def _check_recipients(
    ctx: ServiceContext, buyer: uuid.UUID, items: list[CheckoutLine]
) -> None:
    """Each gift's recipient is someone else, and exists (asked once per recipient)."""
    recipients = list(dict.fromkeys(i.recipient_id for i in items if i.recipient_id is not None))
    if buyer in recipients:
        raise Conflict("A gift is for someone else", code="gift-to-self")
    for recipient in recipients:
        try:
            await ctx.client(UsersClient).profile(recipient)
        except NotFound as exc:
            raise NotFound(
                "The gift's recipient does not exist", code="recipient-not-found"
            ) from exc


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


async def charge(ctx: ServiceContext, order: Order, card: CardIn | None) -> ChargeOutcome | None:
    """Ask payments to charge the priced order. None: no answer (the recovery loop will ask
    again)."""
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
            card=card,
            idempotency_key=str(order.id),
        )
        return outcome_of(made)
    except ServiceUnavailable:
        log.warning("payments did not answer; the order stays pending", order_id=str(order.id))
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


async def settle(
    ctx: ServiceContext,
    order_id: uuid.UUID,
    outcome: ChargeOutcome,
    *,
    lines: list[OrderLine] | None = None,
) -> Order | None:
    """Apply payments' answer in one transaction; the order as it then is, with its lines
    (`lines`: the ones the caller holds, not read again), or None if there is no such order.
    Money taken for an order that can no longer be paid is given back."""
    deadline = timedelta(seconds=ctx.settings.purchases_payment_deadline_seconds)
    async with ctx.db.session() as session:
        order = await repo.locked_order(session, order_id, lines=lines is None)
        orphan = outcome.status == "succeeded"
        if order is not None:
            if lines is not None:
                repo.attach_lines(order, lines)
            orphan = await service.settle(session, ctx.events, order, outcome, utcnow(), deadline)
        crash_point(ctx.settings, "settling")
    if order is not None and order.status == "paid":
        paid_here(ctx).add(order_id)  # committed: payments' PaymentSucceeded can skip it
    if orphan:
        await refund_orphan(ctx, outcome)
    return order


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
