"""Public endpoints of the payments service: the player's wallet, top-ups, confirmations.
The player is always the verified caller: no endpoint takes a user id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, status
from starlette.responses import Response

from lugx.platform.auth import CurrentUser
from lugx.platform.db import DbSession, utcnow
from lugx.platform.errors import PROBLEM_JSON, BadRequest
from lugx.platform.listing import Ctx, cursor_key, keyset_page
from lugx.platform.money import Money
from lugx.platform.pagination import Cursor, Limit, Page
from lugx.services.payments import ledger, service
from lugx.services.payments import repository as repo
from lugx.services.payments.models import LedgerEntry, LedgerTransaction
from lugx.services.payments.schemas import (
    IDEMPOTENCY_KEY_MAX,
    ConfirmationRead,
    TopUpCreate,
    TopUpRead,
    WalletEntryRead,
    WalletRead,
)
from lugx.services.payments.service import Payments
from lugx.services.payments.views import confirmation_read, entry_read

PREFIX = "/api/v1/payments"

router = APIRouter(prefix=PREFIX, tags=["payments"])


def payments_of(request: Request) -> Payments:
    payments: Payments = request.app.state.ctx.extras["payments"]
    return payments


PaymentsDep = Annotated[Payments, Depends(payments_of)]
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        description="Unique per try",
    ),
]


def idempotency_key(value: str | None) -> str:
    if value is None or not value.strip():
        raise BadRequest(
            "This request moves money: send an Idempotency-Key header (e.g. a fresh UUID)",
            code="idempotency-key-required",
        )
    return value


@router.get("/wallet", response_model=WalletRead)
async def wallet(principal: CurrentUser, session: DbSession) -> WalletRead:
    account = await ledger.wallet(session, principal.user_id)
    balance = await ledger.balance_of(session, account)
    return WalletRead(
        balance=Money(amount=balance.amount, currency=ledger.CURRENCY),
        currency=ledger.CURRENCY,
        updated_at=balance.updated_at,
    )


@router.get("/wallet/entries", response_model=Page[WalletEntryRead])
async def wallet_entries(
    ctx: Ctx,
    principal: CurrentUser,
    session: DbSession,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[WalletEntryRead]:
    """The wallet's history, newest first."""
    before = cursor_key(ctx.secret_key, cursor or None, _sequence)
    account = await ledger.wallet(session, principal.user_id)
    if account is None:
        return Page[WalletEntryRead](items=[])
    rows = await repo.wallet_entries(session, account.id, limit=limit + 1, before=before)
    return keyset_page(ctx.secret_key, rows, limit, _entry_read, _entry_key)


Row = tuple[LedgerEntry, LedgerTransaction]


def _sequence(key: Mapping[str, Any]) -> int:
    sequence = key["s"]
    if not isinstance(sequence, int):
        raise TypeError(sequence)
    return sequence


def _entry_read(row: Row) -> WalletEntryRead:
    return entry_read(*row)


def _entry_key(row: Row) -> dict[str, Any]:
    return {"s": row[0].sequence or 0}


@router.post(
    "/wallet/top-ups",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpRead,
    responses={402: {"description": "The card was declined (problem+json with failure_code)"}},
)
async def top_up(
    body: TopUpCreate,
    principal: CurrentUser,
    session: DbSession,
    payments: PaymentsDep,
    key: IdempotencyHeader = None,
) -> Response:
    """Add money to the wallet by card. A declined card is a 402 whose `failure_code` says why;
    a card that needs the confirmation step answers `requires_confirmation` and a `next_action`.
    The same Idempotency-Key again returns the first answer; money moves once."""
    answer = await service.top_up(
        session, payments, principal.user_id, idempotency_key(key), body, utcnow().date()
    )
    media = PROBLEM_JSON if answer.status_code >= 400 else "application/json"
    return Response(answer.body, status_code=answer.status_code, media_type=media)


@router.post("/confirmations/{payment_id}", response_model=ConfirmationRead)
async def confirm(
    payment_id: uuid.UUID, principal: CurrentUser, session: DbSession, payments: PaymentsDep
) -> ConfirmationRead:
    """Complete the confirmation step of one of your top-ups or card payments."""
    payment = await service.confirm(session, payments, principal.user_id, payment_id)
    return confirmation_read(payment)
