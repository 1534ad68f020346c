"""The typed client other services (purchases) use to call the shopping service."""

from __future__ import annotations

import uuid

from lugx.platform.clients import ServiceClient
from lugx.services.shopping.schemas import CheckoutRead


class ShoppingClient(ServiceClient):
    service = "shopping"

    async def checkout(self, user_id: uuid.UUID, order_id: uuid.UUID) -> CheckoutRead:
        """Freeze the user's cart for this order (idempotent per order_id). Needs a service
        token (`ctx.client(ShoppingClient)` from purchases). Conflict (409) when the cart is
        empty, holds an owned or withdrawn game, its coupon no longer applies, or another
        checkout of it is in progress."""
        response = await self.request(
            "POST",
            "/internal/v1/shopping/checkouts",
            json={"user_id": str(user_id), "order_id": str(order_id)},
        )
        return CheckoutRead.model_validate_json(response.content)
