"""The typed client the purchases service uses to charge, look up, refund and cancel payments.
Made with `ctx.client(PaymentsClient)`: the internal endpoints take only purchases' token."""

from __future__ import annotations

import uuid

from lugx.platform.clients import ServiceClient
from lugx.platform.errors import NotFound
from lugx.platform.money import Money
from lugx.services.payments.schemas import (
    CardIn,
    ChargeCreate,
    ChargeRead,
    Method,
    RefundCreate,
    RefundRead,
)

PREFIX = "/internal/v1/payments"


class PaymentsClient(ServiceClient):
    service = "payments"

    async def charge(
        self,
        *,
        user_id: uuid.UUID,
        order_id: uuid.UUID,
        amount: Money,
        method: Method,
        card: CardIn | None = None,
        idempotency_key: str | None = None,
    ) -> ChargeRead:
        """Charge an order. The key defaults to the order id, so a retry never charges twice.
        A declined payment is a charge with `status == "failed"`, not an error."""
        body = ChargeCreate(
            user_id=user_id, order_id=order_id, amount=amount, method=method, card=card
        )
        key = idempotency_key or str(order_id)
        if self.local is not None:
            from lugx.services.payments import operations

            return await self.run_local(operations.charge, key, body)
        response = await self.request(
            "POST",
            f"{PREFIX}/charges",
            json=body.model_dump(mode="json"),
            headers={"Idempotency-Key": key},
        )
        return ChargeRead.model_validate_json(response.content)

    async def charge_for_order(self, order_id: uuid.UUID) -> ChargeRead | None:
        """The order's charge, or None if it was never made (saga recovery)."""
        try:
            response = await self.request("GET", f"{PREFIX}/charges/by-order/{order_id}")
        except NotFound:
            return None
        return ChargeRead.model_validate_json(response.content)

    async def refund(
        self, charge_id: uuid.UUID, *, amount: Money, reason: str, idempotency_key: str
    ) -> RefundRead:
        """Give back all or part of a charge to where it came from (Conflict: more than is
        left, or the charge did not succeed)."""
        body = RefundCreate(amount=amount, reason=reason)
        response = await self.request(
            "POST",
            f"{PREFIX}/charges/{charge_id}/refunds",
            json=body.model_dump(mode="json"),
            headers={"Idempotency-Key": idempotency_key},
        )
        return RefundRead.model_validate_json(response.content)

    async def cancel(self, charge_id: uuid.UUID) -> ChargeRead:
        """Give up a charge awaiting confirmation (Conflict if it already succeeded or failed)."""
        response = await self.request("POST", f"{PREFIX}/charges/{charge_id}/cancel")
        return ChargeRead.model_validate_json(response.content)
