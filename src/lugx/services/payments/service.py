"""The rules of payments: top-ups, charges, confirmations, cancels and refunds.
Functions take the request's session and flush; they never commit.

Idempotency: each money-moving request is claimed by inserting its row under a UNIQUE key
(top-ups: user + Idempotency-Key; charges: Idempotency-Key, and one per order; refunds: charge +
Idempotency-Key) before any money moves. A replay finds the row and answers from it; a racing
twin loses the insert (on PostgreSQL it waits for the winner's commit) and answers from the
winner's row. The same key with a different request is a 409.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import utcnow
from lugx.platform.errors import PROBLEM_BASE, Conflict, NotFound, ValidationFailed
from lugx.platform.events import EventBus
from lugx.platform.money import Money
from lugx.platform.settings import Settings
from lugx.services.payments import events, ledger, sandbox
from lugx.services.payments import repository as repo
from lugx.services.payments.models import Charge, LedgerAccount, Refund, TopUp
from lugx.services.payments.schemas import CardIn, ChargeCreate, RefundCreate, TopUpCreate
from lugx.services.payments.views import top_up_read

TOP_UPS_PATH = "/api/v1/payments/wallet/top-ups"
DECLINE_MESSAGES = {
    "card_declined": "The card was declined",
    "insufficient_funds": "The card has insufficient funds",
    "expired_card": "The card has expired",
}


@dataclass
class Payments:
    """What the rules need beyond the session; built once per service (app.py)."""

    events: EventBus
    settings: Settings
    secret_key: bytes
    accounts: ledger.SystemAccounts = field(default_factory=ledger.SystemAccounts)

    def fingerprint(self, kind: str, request: dict[str, Any]) -> str:
        """A keyed digest of a request, to tell a replay from a different request. Keyed, so
        the card number in a top-up cannot be recovered from it."""
        message = orjson.dumps([kind, request], option=orjson.OPT_SORT_KEYS)
        return hmac.new(self.secret_key, message, hashlib.sha256).hexdigest()

    def confirm_by(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.payments_confirmation_ttl_seconds)


def _same_request(fingerprint: str, stored: str) -> None:
    if not hmac.compare_digest(fingerprint, stored):
        raise Conflict(
            "Idempotency-Key reused with a different request", code="idempotency-key-reused"
        )


def _field_error(loc: list[str], message: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "field": ".".join(loc[1:]), "message": message, "type": kind}


def _check_currency(amount: Money, loc: list[str]) -> None:
    if amount.currency != ledger.CURRENCY:
        message = f"Payments are in {ledger.CURRENCY}; {amount.currency} is not accepted"
        raise ValidationFailed(
            message, errors=[_field_error([*loc, "currency"], message, "currency")]
        )


def _check_range(amount: Money, loc: list[str], low: int, high: int) -> None:
    if not low <= amount.amount <= high:
        message = f"The amount must be between {low} and {high} (minor units)"
        raise ValidationFailed(message, errors=[_field_error([*loc, "amount"], message, "range")])


def _card(card: CardIn) -> sandbox.Card:
    return sandbox.Card(card.number, card.exp_month, card.exp_year, card.cvc)


# --- top-ups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An HTTP answer kept whole, so a replay returns exactly the first one."""

    status_code: int
    body: bytes


async def top_up(
    session: AsyncSession,
    payments: Payments,
    user_id: uuid.UUID,
    key: str,
    body: TopUpCreate,
    today: date,
) -> Answer:
    fingerprint = payments.fingerprint("top_up", body.model_dump(mode="json"))
    existing = await repo.top_up_by_key(session, user_id, key)
    if existing is not None:
        return _replay_top_up(existing, fingerprint)
    _check_currency(body.amount, ["body", "amount"])
    settings = payments.settings
    _check_range(
        body.amount, ["body", "amount"], settings.payments_top_up_min, settings.payments_top_up_max
    )
    card = _card(body.card)
    problems = sandbox.problems(card, today)
    if problems:
        raise ValidationFailed(
            f"card.{problems[0].field}: {problems[0].message}",
            errors=sandbox.field_errors(problems, ("body", "card")),
        )
    auth = sandbox.authorize(card, today)
    row = TopUp(
        id=uuid.uuid4(),
        user_id=user_id,
        idempotency_key=key,
        fingerprint=fingerprint,
        status=auth.outcome,
        amount=body.amount.amount,
        currency=body.amount.currency,
        card_brand=auth.brand,
        card_last4=auth.last4,
        failure_code=auth.failure_code,
    )
    if not await repo.insert_or_none(session, row):
        winner = await repo.top_up_by_key(session, user_id, key)
        assert winner is not None
        return _replay_top_up(winner, fingerprint)
    now = utcnow()
    if auth.outcome == "succeeded":
        await _credit_top_up(session, payments, row, now)
    elif auth.outcome == "requires_confirmation":
        row.confirm_by = payments.confirm_by(now)
    answer = _top_up_answer(row)
    row.response_status, row.response_body = answer.status_code, answer.body.decode()
    return answer


def _replay_top_up(row: TopUp, fingerprint: str) -> Answer:
    _same_request(fingerprint, row.fingerprint)
    if row.response_status is None or row.response_body is None:  # written in the same commit
        return _top_up_answer(row)
    return Answer(row.response_status, row.response_body.encode())


def _top_up_answer(row: TopUp) -> Answer:
    read = top_up_read(row).model_dump(mode="json")
    if row.status != "failed":
        return Answer(201, orjson.dumps(read))
    code = row.failure_code or "card_declined"
    problem = {
        "type": PROBLEM_BASE + code.replace("_", "-"),
        "title": "Payment required",
        "status": 402,
        "detail": DECLINE_MESSAGES.get(code, "The payment failed"),
        "instance": TOP_UPS_PATH,
        "failure_code": code,
        "top_up": read,
    }
    return Answer(402, orjson.dumps(problem))


async def _credit_top_up(
    session: AsyncSession, payments: Payments, row: TopUp, now: datetime
) -> None:
    wallet = await ledger.wallet_or_new(session, row.user_id)
    clearing = await payments.accounts.get(session, ledger.CARD_CLEARING)
    await ledger.post(session, "top_up", row.id, [(clearing, -row.amount), (wallet, row.amount)])
    row.status, row.succeeded_at = "succeeded", now
    await events.wallet_topped_up(session, payments.events, row)


# --- charges ----------------------------------------------------------------------------------


async def charge(
    session: AsyncSession, payments: Payments, key: str, body: ChargeCreate, today: date
) -> Charge:
    """Charge an order. The charge row is claimed under its unique keys before money moves, as
    the card's answer already decided it: a card charge is one INSERT of the charge, its ledger
    posting and its event. A replay (or a racing twin) answers from the first row."""
    fingerprint = payments.fingerprint("charge", body.model_dump(mode="json"))
    try:
        _check_charge(body)
    except ValidationFailed:
        # A replay is answered from its row whatever it says (a different request: 409).
        existing = await repo.charge_by_key(session, key)
        if existing is None:
            raise
        _same_request(fingerprint, existing.fingerprint)
        return existing
    now = utcnow()
    row = Charge(
        id=uuid.uuid4(),
        order_id=body.order_id,
        user_id=body.user_id,
        idempotency_key=key,
        fingerprint=fingerprint,
        method=body.method,
        status="processing",
        amount=body.amount.amount,
        currency=body.amount.currency,
        refunded=0,
        created_at=now,
        updated_at=now,
    )
    if body.card is not None:
        _authorize_card(payments, row, _card(body.card), today, now)
    # A card's answer is in the row already; a wallet charge's is written after it (an UPDATE).
    if not await repo.insert_or_none(session, row, track=row.method == "wallet"):
        winner = await repo.charge_by_key(session, key)
        if winner is None:
            raise Conflict("This order already has a charge", code="order-already-charged")
        _same_request(fingerprint, winner.fingerprint)
        return winner
    if row.method == "wallet":
        await _charge_wallet(session, payments, row, now)
    elif row.status == "succeeded":
        await _post_card_charge(session, payments, row)
    await events.payment_settled(session, payments.events, row)
    return row


def _check_charge(body: ChargeCreate) -> None:
    _check_currency(body.amount, ["body", "amount"])
    if body.method == "card" and body.card is None:
        message = "A card charge needs the card"
        raise ValidationFailed(message, errors=[_field_error(["body", "card"], message, "missing")])
    if body.method == "wallet" and body.card is not None:
        message = "A wallet charge takes no card"
        raise ValidationFailed(message, errors=[_field_error(["body", "card"], message, "extra")])


async def _charge_wallet(
    session: AsyncSession, payments: Payments, row: Charge, now: datetime
) -> None:
    if row.amount == 0:  # nothing to move (a free order)
        row.status, row.succeeded_at = "succeeded", now
        return
    wallet = await ledger.wallet(session, row.user_id)
    if wallet is None:
        _fail(row, "insufficient_funds", "The wallet has insufficient funds")
        return
    sales = await payments.accounts.get(session, ledger.SALES)
    try:
        await ledger.post(session, "charge", row.id, [(wallet, -row.amount), (sales, row.amount)])
    except ledger.InsufficientFunds:
        _fail(row, "insufficient_funds", "The wallet has insufficient funds")
        return
    row.status, row.succeeded_at = "succeeded", now


def _authorize_card(
    payments: Payments, row: Charge, card: sandbox.Card, today: date, now: datetime
) -> None:
    """The processor's answer, on the row before it is written (no money moves here)."""
    problems = sandbox.problems(card, today)
    if problems:
        message = "; ".join(f"card.{p.field}: {p.message}" for p in problems)
        if card.number.isdigit() and len(card.number) >= 12:
            row.card_brand, row.card_last4 = sandbox.brand_of(card.number), card.last4
        _fail(row, "invalid_card", message)
        return
    auth = sandbox.authorize(card, today)
    row.card_brand, row.card_last4 = auth.brand, auth.last4
    if auth.outcome == "failed":
        code = auth.failure_code or "card_declined"
        _fail(row, code, DECLINE_MESSAGES.get(code, "The payment failed"))
    elif auth.outcome == "requires_confirmation":
        row.status, row.confirm_by = "requires_confirmation", payments.confirm_by(now)
    else:
        row.status, row.succeeded_at = "succeeded", now


async def _post_card_charge(session: AsyncSession, payments: Payments, row: Charge) -> None:
    """The money of a card charge that succeeded: card clearing to sales."""
    if row.amount > 0:
        clearing = await payments.accounts.get(session, ledger.CARD_CLEARING)
        sales = await payments.accounts.get(session, ledger.SALES)
        await ledger.post(session, "charge", row.id, [(clearing, -row.amount), (sales, row.amount)])


def _fail(row: Charge, code: str, message: str) -> None:
    row.status, row.failure_code, row.failure_message = "failed", code, message[:500]


async def cancel(session: AsyncSession, charge_id: uuid.UUID) -> Charge:
    """Give up a charge awaiting confirmation (its order expired). Idempotent."""
    row = await repo.charge_by_id(session, charge_id, lock=True)
    if row is None:
        raise NotFound("No such charge")
    if row.status == "requires_confirmation":
        row.status = "canceled"
    elif row.status != "canceled":
        raise Conflict(f"A {row.status} charge cannot be canceled", code="charge-not-cancelable")
    return row


# --- confirmations ----------------------------------------------------------------------------


async def confirm(
    session: AsyncSession, payments: Payments, user_id: uuid.UUID, payment_id: uuid.UUID
) -> TopUp | Charge:
    """The player's confirmation step (3-D Secure) of their own top-up or card charge."""
    now = utcnow()
    top_up_row = await repo.top_up_of(session, user_id, payment_id, lock=True)
    if top_up_row is not None:
        if _needs_settling(top_up_row.status, top_up_row.confirm_by, now):
            await _credit_top_up(session, payments, top_up_row, now)
        return top_up_row
    row = await repo.charge_by_id(session, payment_id, user_id=user_id, lock=True)
    if row is None:
        raise NotFound("No such payment awaiting your confirmation")
    if _needs_settling(row.status, row.confirm_by, now):
        await _post_card_charge(session, payments, row)
        row.status, row.succeeded_at = "succeeded", now
        await events.payment_settled(session, payments.events, row)
    return row


def _needs_settling(status: str, confirm_by: datetime | None, now: datetime) -> bool:
    """False: already confirmed (a repeated confirmation changes nothing)."""
    if status == "succeeded":
        return False
    if status != "requires_confirmation":
        raise Conflict(
            f"This payment is {status} and cannot be confirmed", code="payment-not-confirmable"
        )
    if confirm_by is not None and now > confirm_by:
        raise Conflict("The time to confirm this payment has passed", code="confirmation-expired")
    return True


# --- refunds ----------------------------------------------------------------------------------


async def refund(
    session: AsyncSession,
    payments: Payments,
    charge_id: uuid.UUID,
    key: str,
    body: RefundCreate,
) -> tuple[Refund, Charge]:
    """Give back all or part of a charge, to where it came from. Never more than is left."""
    row = await repo.charge_by_id(session, charge_id, lock=True)
    if row is None:
        raise NotFound("No such charge")
    fingerprint = payments.fingerprint(
        "refund", {"charge": str(charge_id), **body.model_dump(mode="json")}
    )
    existing = await repo.refund_by_key(session, row.id, key)
    if existing is not None:
        _same_request(fingerprint, existing.fingerprint)
        return existing, row
    _check_refund(row, body)
    destination = "wallet" if row.method == "wallet" else "card"
    made = Refund(
        id=uuid.uuid4(),
        charge_id=row.id,
        idempotency_key=key,
        fingerprint=fingerprint,
        amount=body.amount.amount,
        currency=body.amount.currency,
        reason=body.reason,
        destination=destination,
    )
    if not await repo.insert_or_none(session, made):
        winner = await repo.refund_by_key(session, row.id, key)
        assert winner is not None
        _same_request(fingerprint, winner.fingerprint)
        return winner, row
    refunds = await payments.accounts.get(session, ledger.REFUNDS)
    target = await _refund_target(session, payments, row)
    await ledger.post(session, "refund", made.id, [(refunds, -made.amount), (target, made.amount)])
    row.refunded += made.amount
    await events.payment_refunded(session, payments.events, row, made)
    return made, row


def _check_refund(row: Charge, body: RefundCreate) -> None:
    _check_currency(body.amount, ["body", "amount"])
    if body.amount.amount < 1:
        message = "A refund must be at least 1 (minor units)"
        raise ValidationFailed(
            message, errors=[_field_error(["body", "amount", "amount"], message, "range")]
        )
    if row.status != "succeeded":
        raise Conflict(f"A {row.status} charge cannot be refunded", code="charge-not-refundable")
    left = row.amount - row.refunded
    if body.amount.amount > left:
        raise Conflict(
            f"That is more than is left to refund ({left})", code="refund-exceeds-charge"
        )


async def _refund_target(session: AsyncSession, payments: Payments, row: Charge) -> LedgerAccount:
    if row.method == "wallet":
        return await ledger.wallet_or_new(session, row.user_id)
    return await payments.accounts.get(session, ledger.CARD_CLEARING)
