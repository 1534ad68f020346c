"""Refunds: automatic within the window, otherwise a request an admin decides.

Automatic when the order was paid at most 14 days ago, the buyer has played each game in it
under 2 hours, and no gift in it has been played by its recipient. Carrying one out: payments
refunds the charge to where the money came from (Idempotency-Key `order-refund-<order id>`),
then, in one transaction, the order becomes `refunded`, what it granted is revoked (a gift its
recipient has played meanwhile is kept) and OrderRefunded + EntitlementRevoked are published.
The request is marked approved before payments is asked, so a crash in between is finished by
the recovery loop (`finish` is idempotent).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict, NotFound
from lugx.platform.events import EventBus
from lugx.platform.money import Money
from lugx.platform.service import ServiceContext
from lugx.services.payments.client import PaymentsClient
from lugx.services.purchases import library, service
from lugx.services.purchases import repository as repo
from lugx.services.purchases.crash import crash_point
from lugx.services.purchases.models import Order, RefundRequest
from lugx.services.purchases.states import PAID, move

REFUND_WINDOW = timedelta(days=14)
MAX_PLAYED_MINUTES = 120


async def automatic(session: AsyncSession, order: Order, now: datetime) -> bool:
    if order.paid_at is None or now - order.paid_at > REFUND_WINDOW:
        return False
    for ent in await repo.granted_by_order(session, order.id):
        limit = 1 if ent.source == "gift" else MAX_PLAYED_MINUTES
        if ent.playtime_minutes >= limit:
            return False
    return True


async def request(
    ctx: ServiceContext, principal: Principal, order_id: uuid.UUID, key: str, reason: str
) -> tuple[RefundRequest, bool]:
    """Open a refund request (approved at once when automatic) and carry it out if approved.
    Returns it and whether this call made it (a replayed Idempotency-Key returns the first)."""
    now = utcnow()
    try:
        async with ctx.db.session() as session:
            made = await _open(session, principal, order_id, key, reason, now)
    except IntegrityError:
        raise Conflict(
            "A refund of this order was already asked for", code="refund-exists"
        ) from None
    if made[1] and made[0].status == "approved":
        await finish(ctx, made[0].id)
    return await _reload(ctx, made[0].id), made[1]


async def _open(
    session: AsyncSession,
    principal: Principal,
    order_id: uuid.UUID,
    key: str,
    reason: str,
    now: datetime,
) -> tuple[RefundRequest, bool]:
    existing = await repo.refund_by_key(session, principal.user_id, key)
    if existing is not None:
        return existing, False
    order = await service.owned_order(session, order_id, principal.user_id, lines=False)
    if order.status == "refunded":
        raise Conflict("This order is already refunded", code="already-refunded")
    if order.status not in PAID:
        raise Conflict("Only a paid order can be refunded", code="order-not-paid")
    if await repo.refund_of_order(session, order.id) is not None:
        raise Conflict("A refund of this order was already asked for", code="refund-exists")
    auto = await automatic(session, order, now)
    refund = RefundRequest(
        order_id=order.id,
        user_id=principal.user_id,
        idempotency_key=key,
        reason=reason,
        status="approved" if auto else "pending",
        automatic=auto,
        amount=order.total,
        decided_at=now if auto else None,
    )
    session.add(refund)
    await session.flush()
    return refund, True


async def decide(
    ctx: ServiceContext, admin: Principal, request_id: uuid.UUID, approve: bool, note: str
) -> RefundRequest:
    async with ctx.db.session() as session:
        refund = await repo.refund_request(session, request_id, lock=True)
        if refund is None:
            raise NotFound("No such refund request", code="refund-not-found")
        if refund.status != "pending":
            raise Conflict(f"This request is already {refund.status}", code="refund-decided")
        refund.status = "approved" if approve else "denied"
        refund.note, refund.decided_by, refund.decided_at = note or None, admin.user_id, utcnow()
        await session.flush()
    if approve:
        await finish(ctx, request_id)
    return await _reload(ctx, request_id)


async def finish(ctx: ServiceContext, request_id: uuid.UUID) -> None:
    """Carry out an approved refund: the money back, then the order and library. Idempotent."""
    async with ctx.db.session(write=False) as session:
        refund = await repo.refund_request(session, request_id)
        order = await repo.order(session, refund.order_id) if refund else None
    if refund is None or order is None or order.status == "refunded":
        return
    refund_id = None
    if order.total > 0 and order.charge_id is not None:
        paid_back = await ctx.client(PaymentsClient).refund(
            order.charge_id,
            amount=Money(amount=order.total, currency=order.currency),
            reason=refund.reason[:500],
            idempotency_key=f"order-refund-{order.id}",
        )
        refund_id = paid_back.id
    crash_point(ctx.settings, "refunding")
    async with ctx.db.session() as session:
        order = await repo.order(session, refund.order_id, lock=True)
        if order is not None and order.status in PAID:
            await _refund_order(session, ctx.events, order, utcnow())
        stored = await repo.refund_request(session, request_id)
        if stored is not None:
            stored.refund_id = refund_id


async def _refund_order(session: AsyncSession, bus: EventBus, order: Order, now: datetime) -> None:
    move(order, "refunded", now)
    revoked = []
    for ent in await repo.granted_by_order(session, order.id):
        if ent.source == "gift" and ent.playtime_minutes > 0:
            continue  # a gift its recipient has played stays theirs
        await library.revoke(session, bus, ent, now)
        revoked.append(ent.app_id)
    await session.flush()
    await bus.publish(
        session,
        "OrderRefunded",
        str(order.id),
        {
            "order_id": str(order.id),
            "user_id": str(order.user_id),
            "app_ids": revoked,
            "amount": service.money(order.total, order.currency),
        },
    )


async def _reload(ctx: ServiceContext, request_id: uuid.UUID) -> RefundRequest:
    async with ctx.db.session(write=False) as session:
        refund = await repo.refund_request(session, request_id)
    if refund is None:
        raise NotFound("No such refund request", code="refund-not-found")
    return refund
