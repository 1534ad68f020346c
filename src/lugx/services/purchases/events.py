"""Events of the purchases service (payloads in docs/commerce.md).

Published (through the outbox, in the transaction of the change): `OrderPlaced`, `OrderPaid`,
`OrderFailed`, `OrderExpired`, `OrderReceiptIssued`, `OrderRefunded`, `EntitlementGranted`,
`EntitlementRevoked`.

Consumed:
- `PaymentSucceeded` (payments): the order is paid (a card confirmed after the checkout
  answered, or the answer to the checkout was lost). Money for an order that failed or expired
  meanwhile is refunded. For an order this process's checkout has just paid (the usual case),
  the event only repeats that and is acknowledged without a transaction (paid_here.py).
- `PaymentFailed` (payments): an order still open fails.
- `CartCleared` (shopping): a paid order is completed and its receipt issued.
Each handler is idempotent on top of the inbox: it only moves an order that is still where the
event expects it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import utcnow
from lugx.platform.events import Event, Handler, SkipWhen
from lugx.platform.service import ServiceContext
from lugx.services.purchases import repository as repo
from lugx.services.purchases import saga, service
from lugx.services.purchases.paid_here import paid_here
from lugx.services.purchases.service import ChargeOutcome


def consumers(ctx: ServiceContext) -> dict[str, Handler]:
    deadline = timedelta(seconds=ctx.settings.purchases_payment_deadline_seconds)

    async def payment_succeeded(session: AsyncSession, event: Event) -> None:
        payload = event.payload
        outcome = ChargeOutcome(
            status="succeeded",
            charge_id=uuid.UUID(payload["charge_id"]),
            amount=int(payload["amount"]["amount"]),
        )
        order = await repo.order(session, uuid.UUID(payload["order_id"]), lock=True)
        orphan = order is None
        if order is not None:
            orphan = await service.settle(session, ctx.events, order, outcome, utcnow(), deadline)
        if orphan:
            await saga.refund_orphan(ctx, outcome)

    async def payment_failed(session: AsyncSession, event: Event) -> None:
        order_id = uuid.UUID(event.payload["order_id"])
        order = await repo.order(session, order_id, lock=True)
        if order is not None:
            reason = str(event.payload.get("failure_code") or "payment_failed")
            await service.mark_failed(session, ctx.events, order, reason, utcnow())

    async def cart_cleared(session: AsyncSession, event: Event) -> None:
        await service.complete(session, ctx.events, uuid.UUID(event.payload["order_id"]), utcnow())

    return {
        # The checkout that paid the order in this process: the event repeats it (paid_here.py).
        "PaymentSucceeded": SkipWhen(payment_succeeded, paid_here(ctx).event_about("order_id")),
        "PaymentFailed": payment_failed,
        "CartCleared": cart_cleared,
    }
