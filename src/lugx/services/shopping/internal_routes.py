"""Endpoints only other services call (`require_service`): the checkout saga's first step."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from lugx.platform.auth.service_calls import require_service
from lugx.platform.db import utcnow
from lugx.platform.listing import Ctx
from lugx.services.shopping import events, service
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
    return await service.checkout(ctx, body.user_id, body.order_id, utcnow())


@router.post("/checkouts/{order_id}/settled", status_code=status.HTTP_204_NO_CONTENT)
async def order_settled(order_id: uuid.UUID, body: OrderSettled, ctx: Ctx) -> None:
    """How the order ended, told by purchases the moment it knows, so the player's next look at
    the cart already shows it (the bought lines gone, or the hold lifted). The order's events
    say the same later; whichever comes first settles the checkout, the other changes nothing."""
    payload = {
        "order_id": str(order_id),
        "user_id": str(body.user_id),
        "lines": [line.model_dump(mode="json") for line in body.lines],
    }
    async with ctx.db.session() as session:
        if body.status == "paid":
            await events.order_paid(session, ctx.events, payload)
        else:
            await events.order_released(session, payload)
    events.settled_here(ctx).add(order_id)  # committed: the order's event can skip it
