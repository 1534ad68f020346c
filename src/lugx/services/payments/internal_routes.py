"""Endpoints only the purchases service calls (`require_service`): charge an order, find an
order's charge, refund to source, cancel a charge awaiting confirmation (docs/commerce.md)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from lugx.platform.auth.service_calls import require_service
from lugx.platform.db import DbSession
from lugx.platform.errors import NotFound
from lugx.platform.listing import Ctx
from lugx.services.payments import operations, service
from lugx.services.payments import repository as repo
from lugx.services.payments.routes import IdempotencyHeader, PaymentsDep, idempotency_key
from lugx.services.payments.schemas import ChargeCreate, ChargeRead, RefundCreate, RefundRead
from lugx.services.payments.views import charge_read, refund_read

router = APIRouter(
    prefix="/internal/v1/payments",
    tags=["internal"],
    include_in_schema=False,
    dependencies=[Depends(require_service("purchases"))],
)


@router.post("/charges", status_code=status.HTTP_201_CREATED, response_model=ChargeRead)
async def create_charge(body: ChargeCreate, ctx: Ctx, key: IdempotencyHeader = None) -> ChargeRead:
    """Charge an order (Idempotency-Key: the order id). A declined charge is still a 201, with
    `status: "failed"` and a `failure_code`; a replay returns the charge as it is now."""
    return await operations.charge(ctx, idempotency_key(key), body)


@router.get("/charges/by-order/{order_id}", response_model=ChargeRead)
async def charge_by_order(order_id: uuid.UUID, session: DbSession) -> ChargeRead:
    found = await repo.charge_by_order(session, order_id)
    if found is None:
        raise NotFound("No charge for this order")
    return charge_read(found)


@router.post(
    "/charges/{charge_id}/refunds", status_code=status.HTTP_201_CREATED, response_model=RefundRead
)
async def refund_charge(
    charge_id: uuid.UUID,
    body: RefundCreate,
    session: DbSession,
    payments: PaymentsDep,
    key: IdempotencyHeader = None,
) -> RefundRead:
    made, charge = await service.refund(session, payments, charge_id, idempotency_key(key), body)
    return refund_read(made, charge)


@router.post("/charges/{charge_id}/cancel", response_model=ChargeRead)
async def cancel_charge(charge_id: uuid.UUID, session: DbSession) -> ChargeRead:
    return charge_read(await service.cancel(session, charge_id))
