"""Rows of the payments service shaped as its response bodies."""

from __future__ import annotations

from lugx.platform.money import Money
from lugx.services.payments.models import Charge, LedgerEntry, LedgerTransaction, Refund, TopUp
from lugx.services.payments.schemas import (
    CardRead,
    ChargeRead,
    ConfirmationRead,
    NextAction,
    RefundRead,
    TopUpRead,
    WalletEntryRead,
)

CONFIRMATIONS_PATH = "/api/v1/payments/confirmations"


def _card(brand: str | None, last4: str | None) -> CardRead | None:
    return CardRead(brand=brand, last4=last4) if brand and last4 else None


def _next_action(status: str, payment_id: object) -> NextAction | None:
    if status != "requires_confirmation":
        return None
    return NextAction(url=f"{CONFIRMATIONS_PATH}/{payment_id}")


def top_up_read(top_up: TopUp) -> TopUpRead:
    return TopUpRead(
        id=top_up.id,
        status=top_up.status,
        amount=Money(amount=top_up.amount, currency=top_up.currency),
        card=CardRead(brand=top_up.card_brand, last4=top_up.card_last4),
        failure_code=top_up.failure_code,
        next_action=_next_action(top_up.status, top_up.id),
        created_at=top_up.created_at,
    )


def charge_read(charge: Charge) -> ChargeRead:
    return ChargeRead(
        id=charge.id,
        order_id=charge.order_id,
        user_id=charge.user_id,
        amount=Money(amount=charge.amount, currency=charge.currency),
        method=charge.method,
        status=charge.status,
        failure_code=charge.failure_code,
        failure_message=charge.failure_message,
        card=_card(charge.card_brand, charge.card_last4),
        refunded=Money(amount=charge.refunded, currency=charge.currency),
        created_at=charge.created_at,
    )


def refund_read(refund: Refund, charge: Charge) -> RefundRead:
    return RefundRead(
        id=refund.id,
        charge_id=charge.id,
        order_id=charge.order_id,
        user_id=charge.user_id,
        amount=Money(amount=refund.amount, currency=refund.currency),
        destination=refund.destination,
        reason=refund.reason,
        created_at=refund.created_at,
    )


def confirmation_read(payment: TopUp | Charge) -> ConfirmationRead:
    is_charge = isinstance(payment, Charge)
    return ConfirmationRead(
        id=payment.id,
        kind="charge" if is_charge else "top_up",
        status=payment.status,
        amount=Money(amount=payment.amount, currency=payment.currency),
        order_id=payment.order_id if isinstance(payment, Charge) else None,
        card=_card(payment.card_brand, payment.card_last4),
        created_at=payment.created_at,
    )


def entry_read(entry: LedgerEntry, txn: LedgerTransaction) -> WalletEntryRead:
    return WalletEntryRead(
        id=entry.id,
        sequence=entry.sequence or 0,
        kind=txn.kind,
        reference_id=txn.reference_id,
        direction="credit" if entry.amount > 0 else "debit",
        amount=Money(amount=abs(entry.amount), currency=entry.currency),
        balance_after=Money(amount=entry.balance_after or 0, currency=entry.currency),
        created_at=entry.created_at,
    )
