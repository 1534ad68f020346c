"""Events of the payments service (payloads as in docs/commerce.md; money as {amount, currency}).

Published (through the outbox, in the transaction of the change):
- `WalletToppedUp` {user_id, amount, top_up_id}: key user_id
- `PaymentSucceeded` {charge_id, order_id, user_id, amount, method}: key order_id; at once for a
  charge that succeeds when made, or when the player confirms one
- `PaymentFailed` {charge_id, order_id, user_id, failure_code}: key order_id
- `PaymentRefunded` {charge_id, refund_id, order_id, user_id, amount, destination}: key order_id

Consumed: none.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.events import EventBus
from lugx.platform.money import Money
from lugx.services.payments.models import Charge, Refund, TopUp


async def wallet_topped_up(session: AsyncSession, bus: EventBus, top_up: TopUp) -> None:
    await bus.publish(
        session,
        "WalletToppedUp",
        key=str(top_up.user_id),
        payload={
            "user_id": str(top_up.user_id),
            "amount": Money(amount=top_up.amount, currency=top_up.currency).model_dump(),
            "top_up_id": str(top_up.id),
        },
    )


async def payment_settled(session: AsyncSession, bus: EventBus, charge: Charge) -> None:
    """`PaymentSucceeded` or `PaymentFailed`, after the charge's status."""
    base: dict[str, object] = {
        "charge_id": str(charge.id),
        "order_id": str(charge.order_id),
        "user_id": str(charge.user_id),
    }
    if charge.status == "succeeded":
        payload = {
            **base,
            "amount": Money(amount=charge.amount, currency=charge.currency).model_dump(),
            "method": charge.method,
        }
        await bus.publish(session, "PaymentSucceeded", key=str(charge.order_id), payload=payload)
    elif charge.status == "failed":
        payload = {**base, "failure_code": charge.failure_code}
        await bus.publish(session, "PaymentFailed", key=str(charge.order_id), payload=payload)


async def payment_refunded(
    session: AsyncSession, bus: EventBus, charge: Charge, refund: Refund
) -> None:
    await bus.publish(
        session,
        "PaymentRefunded",
        key=str(charge.order_id),
        payload={
            "charge_id": str(charge.id),
            "refund_id": str(refund.id),
            "order_id": str(charge.order_id),
            "user_id": str(charge.user_id),
            "amount": Money(amount=refund.amount, currency=refund.currency).model_dump(),
            "destination": refund.destination,
        },
    )
