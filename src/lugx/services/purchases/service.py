"""The rules of orders: what each state change does, and the events it tells. Every step of the
saga that touches this service's tables is here, one function each, idempotent: run twice (a
redelivered event, a restarted process) it changes nothing the second time. Functions take the
caller's session and flush; they never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.sql import save_changes
from lugx.platform.errors import NotFound
from lugx.platform.events import EventBus
from lugx.platform.money import Money
from lugx.services.purchases import library
from lugx.services.purchases import repository as repo
from lugx.services.purchases.models import Order, OrderLine
from lugx.services.purchases.states import OPEN, PAID, can_move, move


@dataclass(frozen=True)
class ChargeOutcome:
    """What payments said of an order's charge (`status` None: there is no charge)."""

    status: str | None
    charge_id: uuid.UUID | None = None
    amount: int = 0
    failure_code: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None


def money(amount: int, currency: str) -> dict[str, Any]:
    """Money as an event payload carries it (plain JSON)."""
    return Money(amount=amount, currency=currency).model_dump()


def line_payload(line: OrderLine, currency: str) -> dict[str, Any]:
    return {
        "app_id": line.app_id,
        "title": line.title,
        "recipient_id": str(line.recipient_id) if line.recipient_id else None,
        "price": money(line.price, currency),
        "final_price": money(line.final_price, currency),
        "amount_due": money(line.amount_due, currency),
    }


def order_payload(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "user_id": str(order.user_id),
        "total": money(order.total, order.currency),
        "coupon_code": order.coupon_code,
        "lines": [line_payload(line, order.currency) for line in order.lines],
    }


async def owned_order(
    session: AsyncSession,
    order_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    admin: bool = False,
    lines: bool = True,
) -> Order:
    """The order if the caller may see it; anyone else's is a 404, never a 403."""
    order = await repo.order(session, order_id, lines=lines)
    if order is None or (order.user_id != user_id and not admin):
        raise NotFound("No such order", code="order-not-found")
    return order


# --- checkout: placing and pricing ----------------------------------------------------------


def new_order(
    order_id: uuid.UUID, user_id: uuid.UUID, key: str, method: str, now: datetime
) -> dict[str, Any]:
    """The row of a new order: pending, holding the player's one open-checkout slot."""
    return {
        "id": order_id,
        "user_id": user_id,
        "idempotency_key": key,
        "open_user_id": user_id,
        "status": "pending",
        "payment_method": method,
        "currency": "USD",
        "subtotal": 0,
        "discount": 0,
        "total": 0,
        "priced": False,
        "created_at": now,
        "updated_at": now,
    }


def refused_line(
    buyer: uuid.UUID, lines: Sequence[OrderLine], owned: set[tuple[uuid.UUID, int]]
) -> OrderLine | None:
    """The first line whose every app its receiver (the buyer, or a gift's recipient) owns."""
    for line in lines:
        receiver = line.recipient_id or buyer
        if all((receiver, int(item["app_id"])) in owned for item in line.grants):
            return line
    return None


def wanted_apps(buyer: uuid.UUID, lines: Sequence[OrderLine]) -> dict[uuid.UUID, set[int]]:
    """The app_ids each receiver of the lines would get (to ask which they own already)."""
    wanted: dict[uuid.UUID, set[int]] = {}
    for line in lines:
        receiver = line.recipient_id or buyer
        wanted.setdefault(receiver, set()).update(int(item["app_id"]) for item in line.grants)
    return wanted


async def store_prices(
    session: AsyncSession,
    bus: EventBus,
    order_id: uuid.UUID,
    lines: list[OrderLine],
    *,
    subtotal: int,
    discount: int,
    total: int,
    coupon_code: str | None,
    now: datetime,
) -> Order | None:
    """Freeze the priced cart on the order and tell OrderPlaced: once, and only while the order
    is still pending. Returns the priced order with its lines, or None."""
    order = await repo.price_order(
        session,
        order_id,
        subtotal=subtotal,
        discount=discount,
        total=total,
        coupon_code=coupon_code,
        now=now,
    )
    if order is None:
        return None
    for position, line in enumerate(lines):
        line.id, line.order_id, line.position = uuid.uuid4(), order.id, position
    await repo.insert_lines(session, lines)
    repo.attach_lines(order, lines)
    payload = order_payload(order)
    del payload["coupon_code"]
    await bus.publish(session, "OrderPlaced", str(order.id), payload)
    return order


async def discard(session: AsyncSession, bus: EventBus, order_id: uuid.UUID, reason: str) -> None:
    """A checkout refused before any money moved: the order never existed for the player.
    OrderFailed still goes out so shopping releases what it reserved for the order id. An order
    that moved on meanwhile (failed by the recovery loop, which told OrderFailed) is left."""
    user_id = await repo.delete_unpaid_order(session, order_id)
    if user_id is None:
        return
    await bus.publish(
        session,
        "OrderFailed",
        str(order_id),
        {"order_id": str(order_id), "user_id": str(user_id), "reason": reason},
    )


# --- settling a charge ----------------------------------------------------------------------


async def settle(
    session: AsyncSession,
    bus: EventBus,
    order: Order,
    outcome: ChargeOutcome,
    now: datetime,
    deadline: timedelta,
) -> bool:
    """Apply payments' answer to an order. Returns True when money was taken for an order that
    can no longer be paid (it failed or expired meanwhile): the caller refunds that charge."""
    if outcome.charge_id is not None and order.charge_id is None:
        order.charge_id = outcome.charge_id
    if outcome.card_last4:
        order.card_brand, order.card_last4 = outcome.card_brand, outcome.card_last4
    status = outcome.status
    if status == "succeeded":
        if order.status in OPEN:
            await mark_paid(session, bus, order, now)
        await save_changes(session, order)  # the charge and card, however the order stands
        return order.status in ("failed", "expired")
    if status == "requires_confirmation" and order.status == "pending":
        move(order, "awaiting_payment", now)
        order.expires_at = now + deadline
    elif status in ("failed", "canceled", None) and order.status in OPEN:
        await mark_failed(session, bus, order, outcome.failure_code or "no_charge", now)
    await save_changes(session, order)
    return False


async def mark_paid(session: AsyncSession, bus: EventBus, order: Order, now: datetime) -> None:
    """Order paid, every line's apps granted (to the buyer, or a gift's recipient), OrderPaid:
    all in the caller's one transaction."""
    if order.status in PAID or order.status == "refunded":
        return
    move(order, "paid", now)
    await repo.load_lines(session, order)
    grants = [
        library.Grant(
            user_id=line.recipient_id or order.user_id,
            app_id=int(item["app_id"]),
            title=str(item["title"]),
            source="gift" if line.recipient_id else "purchase",
            order_id=order.id,
            gifted_by=order.user_id if line.recipient_id else None,
        )
        for line in order.lines
        for item in line.grants
    ]
    await library.grant_all(session, bus, grants, now)
    await save_changes(session, order)
    await bus.publish(session, "OrderPaid", str(order.id), order_payload(order))


async def mark_failed(
    session: AsyncSession, bus: EventBus, order: Order, reason: str, now: datetime
) -> None:
    if not can_move(order.status, "failed"):
        return
    move(order, "failed", now)
    order.failure_reason = reason[:64]
    await save_changes(session, order)
    await bus.publish(
        session,
        "OrderFailed",
        str(order.id),
        {"order_id": str(order.id), "user_id": str(order.user_id), "reason": reason},
    )


async def mark_expired(session: AsyncSession, bus: EventBus, order: Order, now: datetime) -> None:
    if not can_move(order.status, "expired"):
        return
    move(order, "expired", now)
    order.failure_reason = "payment_not_confirmed"
    await save_changes(session, order)
    await bus.publish(
        session,
        "OrderExpired",
        str(order.id),
        {"order_id": str(order.id), "user_id": str(order.user_id), "reason": "expired"},
    )


async def complete(
    session: AsyncSession, bus: EventBus, order_id: uuid.UUID, now: datetime
) -> None:
    """Shopping cleared the cart of a paid order: the order is done, its receipt issued."""
    order = await repo.locked_order(session, order_id, lines=True)  # for the receipt
    if order is None or order.status != "paid":
        return
    move(order, "completed", now)
    await save_changes(session, order)
    payload = order_payload(order)
    payload["paid_at"] = order.paid_at
    del payload["coupon_code"]
    await bus.publish(session, "OrderReceiptIssued", str(order.id), payload)
