"""The payments service's tables: the double-entry ledger, top-ups, charges, refunds.
No other service reads them.

The ledger is append-only. Every movement of money is one `ledger_transactions` row and two or
more `ledger_entries` whose amounts sum to zero (a positive amount credits the account). A
wallet's balance is never stored on its own: each wallet entry carries the account's next
`sequence` number and the `balance_after` it leaves, so the balance is the last entry's, read
through the (account_id, sequence) unique index. Two writers can never take the same sequence,
and a CHECK keeps every wallet balance at zero or above. System accounts (card clearing, sales,
refunds) are posted to by every payment; they take no sequence so they never serialise
payments, and their balance is the sum of their entries (an audit query, not a hot path).

Card data: only the brand and the last four digits are ever stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lugx.platform.db import Timestamps, UTCDateTime, UUIDPrimaryKey, new_metadata, utcnow
from lugx.platform.events import event_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


EVENTS = event_tables(Base.metadata)


class LedgerAccount(UUIDPrimaryKey, Base):
    """A user's wallet (`wallet:<user id>`) or a system account (`card_clearing`, `sales`,
    `refunds`). A wallet row is also what a debit locks (SELECT ... FOR UPDATE on PostgreSQL)."""

    __tablename__ = "ledger_accounts"

    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LedgerTransaction(UUIDPrimaryKey, Base):
    """One movement of money. (kind, reference_id) is unique: a top-up, charge or refund moves
    money at most once, whatever retries or races happen above."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (UniqueConstraint("kind", "reference_id"),)

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    reference_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LedgerEntry(UUIDPrimaryKey, Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("account_id", "sequence"),
        CheckConstraint(
            "balance_after IS NULL OR balance_after >= 0", name="balance_never_negative"
        ),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
    )

    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_transactions.id"), nullable=False, index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # + credits the account
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Wallet entries only (see the module's docstring).
    sequence: Mapped[int | None] = mapped_column(Integer)
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TopUp(UUIDPrimaryKey, Timestamps, Base):
    """Money added to a wallet by card. The first answer is kept whole (`response_*`) so a
    replay of the same Idempotency-Key gets exactly that answer back."""

    __tablename__ = "top_ups"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    # HMAC of the request under the platform secret: tells a replay from a different request
    # without keeping the card number (a plain hash of one is easily reversed).
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    card_brand: Mapped[str] = mapped_column(String(16), nullable=False)
    card_last4: Mapped[str] = mapped_column(String(4), nullable=False)
    failure_code: Mapped[str | None] = mapped_column(String(32))
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)


class Charge(UUIDPrimaryKey, Timestamps, Base):
    """An order's payment, asked for by purchases. One per order, one per Idempotency-Key."""

    __tablename__ = "charges"

    order_id: Mapped[uuid.UUID] = mapped_column(unique=True, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    refunded: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    card_brand: Mapped[str | None] = mapped_column(String(16))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    failure_code: Mapped[str | None] = mapped_column(String(32))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Refund(UUIDPrimaryKey, Base):
    """Money given back to where a charge took it from: the wallet, or the card."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("charge_id", "idempotency_key"),
        Index("ix_refunds_charge_id_created_at", "charge_id", "created_at"),
    )

    charge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("charges.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    destination: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
