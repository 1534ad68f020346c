"""The recovery loop: finishes what a crash (or a lost answer) left half done.

- a `pending` order untouched for `purchases_pending_grace_seconds` asks payments for its charge
  by order id: succeeded -> paid, requires_confirmation -> awaiting_payment, failed or none ->
  failed (a charge that still lands later is refunded: see saga.settle);
- an `awaiting_payment` order past its deadline: its charge is canceled and the order expires,
  unless the charge turns out to have succeeded, then the order is paid;
- an approved refund whose order is not refunded yet is carried out.
Every step is idempotent, so two loops (two processes) racing do no harm.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import structlog

from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict, LugxError, NotFound
from lugx.platform.service import ServiceContext
from lugx.services.payments.client import PaymentsClient
from lugx.services.purchases import refunds, saga, service
from lugx.services.purchases import repository as repo
from lugx.services.purchases.models import Order

log = structlog.get_logger(__name__)


async def recover_forever(ctx: ServiceContext) -> None:
    while True:
        try:
            await recover_once(ctx)
        except Exception:
            log.exception("purchases recovery pass failed; retrying")
        await asyncio.sleep(ctx.settings.purchases_recovery_interval_seconds)


async def recover_once(ctx: ServiceContext) -> int:
    """One pass; returns how many items it looked at."""
    now = utcnow()
    grace = timedelta(seconds=ctx.settings.purchases_pending_grace_seconds)
    async with ctx.db.session(write=False) as session:
        pending = await repo.stale_orders(session, "pending", before=now - grace)
        overdue = await repo.stale_orders(session, "awaiting_payment", before=now)
        unfinished = await repo.unfinished_refunds(session)
    for order_id in pending:
        await _guarded(settle_pending(ctx, order_id), order_id)
    for order_id in overdue:
        await _guarded(expire(ctx, order_id), order_id)
    for request_id in unfinished:
        await _guarded(refunds.finish(ctx, request_id), request_id)
    return len(pending) + len(overdue) + len(unfinished)


async def _guarded(step: object, item: uuid.UUID) -> None:
    """One item's failure (payments down) must not stop the pass for the others."""
    assert asyncio.iscoroutine(step)
    try:
        await step
    except LugxError as exc:
        log.warning("recovery step failed; next pass retries", item=str(item), error=exc.detail)


async def settle_pending(ctx: ServiceContext, order_id: uuid.UUID) -> None:
    order = await saga.load(ctx, order_id)
    if order.status != "pending":
        return
    await saga.settle(ctx, order_id, await saga.charge_of(ctx, order))


async def expire(
    ctx: ServiceContext, order_id: uuid.UUID, *, by_player: bool = False
) -> Order | None:
    """Give up an order waiting for its payment's confirmation: past its deadline (the loop),
    or because the player canceled it (`by_player`: the order fails as canceled). Returns the
    order as it then is (None: it was not awaiting payment)."""
    order = await saga.load(ctx, order_id)
    if order.status != "awaiting_payment":
        return None
    if order.charge_id is not None:
        payments = ctx.client(PaymentsClient)
        try:
            outcome = saga.outcome_of(await payments.cancel(order.charge_id))
        except (Conflict, NotFound):
            outcome = await saga.charge_of(ctx, order)  # it settled meanwhile: see how
        if outcome.status == "succeeded":
            return await saga.settle(ctx, order_id, outcome)
    async with ctx.db.session() as session:
        locked = await repo.order(session, order_id, lock=True, lines=True)
        if locked is None:
            return None
        if by_player:
            await service.mark_failed(session, ctx.events, locked, "canceled", utcnow())
        else:
            await service.mark_expired(session, ctx.events, locked, utcnow())
    await saga.tell_shopping(ctx, locked)
    return locked
