"""Endpoints only other services call (`require_service`): the checkout saga's first step."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from lugx.platform.auth.service_calls import require_service
from lugx.platform.db import DbSession, utcnow
from lugx.platform.service import ctx_of
from lugx.services.shopping import service
from lugx.services.shopping.schemas import CheckoutCreate, CheckoutRead

router = APIRouter(
    prefix="/internal/v1/shopping",
    tags=["internal"],
    include_in_schema=False,
    dependencies=[Depends(require_service("purchases"))],
)


@router.post("/checkouts", response_model=CheckoutRead)
async def checkout(body: CheckoutCreate, request: Request, session: DbSession) -> CheckoutRead:
    """Freeze the user's priced cart for this order and reserve its coupon use. A retry with
    the same order_id returns the same snapshot; 409 when the cart is empty, holds something
    owned or no longer for sale, its coupon no longer applies, or another checkout of it is in
    progress."""
    return await service.checkout(session, ctx_of(request), body.user_id, body.order_id, utcnow())
