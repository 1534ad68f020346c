"""HTTP endpoints of orders, checkout and refunds: parse, authorise, call the rules, shape."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status

from lugx.platform import cards
from lugx.platform.auth import CurrentUser, Principal, require_roles
from lugx.platform.db import DbSession, utcnow
from lugx.platform.errors import Conflict, ValidationFailed
from lugx.platform.listing import Ctx, cursor_key, keyset_page
from lugx.platform.money import Money
from lugx.platform.pagination import Cursor, Limit, Page
from lugx.services.purchases import recovery, refunds, saga, service
from lugx.services.purchases import repository as repo
from lugx.services.purchases.models import Order, OrderLine, RefundRequest
from lugx.services.purchases.schemas import (
    CardRead,
    CheckoutRequest,
    OrderLineRead,
    OrderRead,
    ReceiptRead,
    RefundCreate,
    RefundDecision,
    RefundRead,
    RefundStatus,
)
from lugx.services.purchases.states import HAS_RECEIPT

PREFIX = "/api/v1/purchases"

router = APIRouter(prefix=PREFIX, tags=["purchases"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Your unique id for this attempt: a retry with it never pays twice",
    ),
]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def line_read(line: OrderLine, currency: str) -> OrderLineRead:
    return OrderLineRead(
        app_id=line.app_id,
        title=line.title,
        type=line.type,
        recipient_id=line.recipient_id,
        price=Money(amount=line.price, currency=currency),
        final_price=Money(amount=line.final_price, currency=currency),
        amount_due=Money(amount=line.amount_due, currency=currency),
        grants=[int(item["app_id"]) for item in line.grants],
    )


def order_read(order: Order) -> OrderRead:
    return OrderRead(
        id=order.id,
        status=order.status,
        payment_method=order.payment_method,
        lines=[line_read(line, order.currency) for line in order.lines],
        subtotal=Money(amount=order.subtotal, currency=order.currency),
        discount=Money(amount=order.discount, currency=order.currency),
        total=Money(amount=order.total, currency=order.currency),
        coupon_code=order.coupon_code,
        charge_id=order.charge_id,
        failure_reason=order.failure_reason,
        created_at=order.created_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        completed_at=order.completed_at,
        refunded_at=order.refunded_at,
    )


def refund_read(refund: RefundRequest) -> RefundRead:
    return RefundRead(
        id=refund.id,
        order_id=refund.order_id,
        user_id=refund.user_id,
        status=refund.status,
        automatic=refund.automatic,
        reason=refund.reason,
        amount=Money(amount=refund.amount, currency="USD"),
        note=refund.note,
        created_at=refund.created_at,
        decided_at=refund.decided_at,
    )


def keyset(secret: bytes, cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (time, id) a cursor of these lists carries (see by_time)."""
    return cursor_key(secret, cursor or None, _time_and_id)


def _time_and_id(key: Mapping[str, Any]) -> tuple[datetime, uuid.UUID]:
    return datetime.fromisoformat(key["t"]), uuid.UUID(key["id"])


def by_time(field: str) -> Callable[[Any], dict[str, Any]]:
    """The cursor key of a row of a list sorted by its `field` (a time), then its id."""
    return lambda row: {"t": getattr(row, field).isoformat(), "id": str(row.id)}


# --- checkout and orders --------------------------------------------------------------------


@router.post("/checkout", status_code=status.HTTP_201_CREATED, response_model=OrderRead)
async def checkout(
    body: CheckoutRequest,
    principal: CurrentUser,
    ctx: Ctx,
    key: IdempotencyKey,
    response: Response,
) -> OrderRead:
    """Buy what is in your cart. 201 with the order (`paid`, `failed`, or `awaiting_payment`
    with a `charge_id` to confirm with payments); a replayed Idempotency-Key answers 200 with
    the first order and moves nothing. A card whose details cannot be right (checksum, expiry,
    security code) is a 422 naming the field, and no order is made."""
    if body.card is not None:
        card = body.card
        found = cards.problems(
            cards.Card(card.number, card.exp_month, card.exp_year, card.cvc), utcnow().date()
        )
        if found:
            raise ValidationFailed(
                "The card's details are not valid",
                errors=cards.field_errors(found, ("body", "card")),
            )
    order, made = await saga.checkout(ctx, principal.user_id, key, body)
    if not made:
        response.status_code = status.HTTP_200_OK
    return order_read(order)


@router.post("/orders/{order_id}/cancel", response_model=OrderRead)
async def cancel(order_id: uuid.UUID, principal: CurrentUser, ctx: Ctx) -> OrderRead:
    """Give up an order still waiting for its card's confirmation: the charge is canceled, the
    order fails as `canceled`, the cart stays as it was and a new checkout may start. If the
    payment was confirmed meanwhile, the order is paid instead. Anyone else's order is a 404;
    an order in any other state is a 409."""
    async with ctx.db.session(write=False) as session:
        order = await service.owned_order(session, order_id, principal.user_id, lines=False)
    if order.status != "awaiting_payment":
        raise Conflict(
            "Only an order waiting for its payment's confirmation can be canceled",
            code="order-state",
        )
    ended = await recovery.expire(ctx, order_id, by_player=True)
    return order_read(ended or await saga.load(ctx, order_id))


@router.get("/orders", response_model=Page[OrderRead])
async def list_orders(
    ctx: Ctx,
    principal: CurrentUser,
    session: DbSession,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[OrderRead]:
    """Your orders, newest first."""
    after = keyset(ctx.secret_key, cursor)
    rows = await repo.orders_of(session, principal.user_id, limit=limit + 1, after=after)
    return keyset_page(ctx.secret_key, rows, limit, order_read, by_time("created_at"))


@router.get("/orders/{order_id}", response_model=OrderRead)
async def get_order(order_id: uuid.UUID, principal: CurrentUser, session: DbSession) -> OrderRead:
    order = await service.owned_order(
        session, order_id, principal.user_id, admin=principal.is_admin
    )
    return order_read(order)


@router.get("/orders/{order_id}/receipt", response_model=ReceiptRead)
async def receipt(order_id: uuid.UUID, principal: CurrentUser, session: DbSession) -> ReceiptRead:
    order = await service.owned_order(
        session, order_id, principal.user_id, admin=principal.is_admin
    )
    if order.status not in HAS_RECEIPT or order.paid_at is None:
        raise Conflict("An order has a receipt once it is paid", code="order-not-paid")
    card = (
        CardRead(brand=order.card_brand or "card", last4=order.card_last4)
        if order.card_last4
        else None
    )
    return ReceiptRead(
        receipt_number=f"LGX-{order.paid_at:%Y%m%d}-{order.id.hex[:10].upper()}",
        order_id=order.id,
        buyer_id=order.user_id,
        status=order.status,
        issued_at=order.paid_at,
        payment_method=order.payment_method,
        card=card,
        lines=[line_read(line, order.currency) for line in order.lines],
        subtotal=Money(amount=order.subtotal, currency=order.currency),
        discount=Money(amount=order.discount, currency=order.currency),
        total=Money(amount=order.total, currency=order.currency),
        coupon_code=order.coupon_code,
        refunded_at=order.refunded_at,
    )


# --- refunds --------------------------------------------------------------------------------


@router.post(
    "/orders/{order_id}/refund", status_code=status.HTTP_201_CREATED, response_model=RefundRead
)
async def ask_refund(
    order_id: uuid.UUID,
    body: RefundCreate,
    principal: CurrentUser,
    ctx: Ctx,
    key: IdempotencyKey,
    response: Response,
) -> RefundRead:
    """Refund an order: at once (`approved`) within 14 days of payment and under 2 hours played
    of each game, else a `pending` request an admin decides. A replayed key answers 200."""
    refund, made = await refunds.request(ctx, principal, order_id, key, body.reason)
    if not made:
        response.status_code = status.HTTP_200_OK
    return refund_read(refund)


@router.get("/refund-requests", response_model=Page[RefundRead])
async def list_refund_requests(
    ctx: Ctx,
    _admin: Admin,
    session: DbSession,
    status_filter: Annotated[RefundStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[RefundRead]:
    """Refund requests, oldest first (admin)."""
    after = keyset(ctx.secret_key, cursor)
    rows = await repo.refund_requests(session, status_filter, limit=limit + 1, after=after)
    return keyset_page(ctx.secret_key, rows, limit, refund_read, by_time("created_at"))


@router.post("/refund-requests/{request_id}/approve", response_model=RefundRead)
async def approve_refund(
    request_id: uuid.UUID, body: RefundDecision, admin: Admin, ctx: Ctx
) -> RefundRead:
    return refund_read(await refunds.decide(ctx, admin, request_id, True, body.note))


@router.post("/refund-requests/{request_id}/deny", response_model=RefundRead)
async def deny_refund(
    request_id: uuid.UUID, body: RefundDecision, admin: Admin, ctx: Ctx
) -> RefundRead:
    return refund_read(await refunds.decide(ctx, admin, request_id, False, body.note))
