"""Endpoints only other services call (`require_service`): the checkout saga's first step."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from lugx.platform.auth.service_calls import require_service
from lugx.platform.listing import Ctx
from lugx.services.shopping import operations
from lugx.services.shopping.schemas import CheckoutCreate, CheckoutRead, OrderSettled

router = APIRouter(
    prefix="/internal/v1/shopping",
    tags=["internal"],
    include_in_schema=False,
    dependencies=[Depends(require_service("purchases"))],
)


@router.post("/checkouts", response_model=CheckoutRead)
async def checkout(body: CheckoutCreate, ctx: Ctx) -> CheckoutRead:
    """Freeze the user's priced cart for this order and reserve its coupon use. A retry with
    the same order_id returns the same snapshot; 409 when the cart is empty, holds something
    no longer for sale (or a bundle its receiver owns whole), its coupon no longer applies, or
    another checkout of it is in progress. Owned games are purchases' to refuse (it checks in
    the transaction that stores the order)."""
    return await operations.checkout(ctx, body.user_id, body.order_id)


@router.post("/checkouts/{order_id}/settled", status_code=status.HTTP_204_NO_CONTENT)
async def order_settled(order_id: uuid.UUID, body: OrderSettled, ctx: Ctx) -> None:
    """How the order ended (operations.settled); idempotent."""
    await operations.settled(ctx, order_id, body)
