"""The typed client other services (purchases) use to call the shopping service."""

from __future__ import annotations

import uuid

from lugx.platform.clients import ServiceClient
from lugx.services.shopping.schemas import CheckoutRead, OrderSettled, SettledLine


class ShoppingClient(ServiceClient):
    service = "shopping"

    async def checkout(self, user_id: uuid.UUID, order_id: uuid.UUID) -> CheckoutRead:
        """Freeze the user's cart for this order (idempotent per order_id). Needs a service
        token (`ctx.client(ShoppingClient)` from purchases). Conflict (409) when the cart is
        empty, holds an owned or withdrawn game, its coupon no longer applies, or another
        checkout of it is in progress."""
        if self.local is not None:
            from lugx.services.shopping import operations

            return await self.run_local(operations.checkout, user_id, order_id)
        response = await self.request(
            "POST",
            "/internal/v1/shopping/checkouts",
            json={"user_id": str(user_id), "order_id": str(order_id)},
        )
        return CheckoutRead.model_validate_json(response.content)

    async def settled(
        self,
        order_id: uuid.UUID,
        user_id: uuid.UUID,
        status: str,
        lines: list[tuple[int, uuid.UUID | None]],
    ) -> None:
        """Tell shopping how an order it froze ended: "paid" (the bought lines leave the cart),
        "failed" or "expired" (the hold and coupon use are released). Idempotent."""
        body = OrderSettled.model_validate(
            {
                "user_id": user_id,
                "status": status,
                "lines": [SettledLine(app_id=a, recipient_id=r) for a, r in lines],
            }
        )
        if self.local is not None:
            from lugx.services.shopping import operations

            await self.run_local(operations.settled, order_id, body)
            return
        await self.request(
            "POST",
            f"/internal/v1/shopping/checkouts/{order_id}/settled",
            json=body.model_dump(mode="json"),
        )
