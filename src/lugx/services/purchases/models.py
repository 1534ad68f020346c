"""The purchases service's tables. No other service reads them.

Two portable tricks stand in for partial unique indexes (SQLite and PostgreSQL alike):
- `orders.open_user_id` holds the buyer's id only while the order is `pending` or
  `awaiting_payment` and is UNIQUE, so a player has at most one checkout in flight;
- `entitlements` are UNIQUE(user_id, app_id) outright: a revoked entitlement keeps its row
  (with `revoked_at`) and is brought back by a later grant, so there is one active row at most.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lugx.platform.db import Timestamps, UTCDateTime, UUIDPrimaryKey, new_metadata, utcnow
from lugx.platform.events import event_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


EVENTS = event_tables(Base.metadata)


class Order(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        Index("ix_orders_status_updated_at", "status", "updated_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False)
    # The buyer's id while a checkout is in flight, else NULL (see the module docstring).
    open_user_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    payment_method: Mapped[str] = mapped_column(String(10), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    subtotal: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    discount: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    priced: Mapped[bool] = mapped_column(nullable=False, default=False)
    charge_id: Mapped[uuid.UUID | None] = mapped_column()
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded only when asked for (repository.order joins them in the same statement): most
    # reads of an order need its row alone, and an unasked-for read of the lines is a bug.
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
        order_by="OrderLine.position",
    )


class OrderLine(UUIDPrimaryKey, Base):
    """One cart line, frozen: its price is what shopping priced from the catalog at checkout."""

    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    recipient_id: Mapped[uuid.UUID | None] = mapped_column()
    price: Mapped[int] = mapped_column(Integer, nullable=False)
    final_price: Mapped[int] = mapped_column(Integer, nullable=False)  # after store discount
    amount_due: Mapped[int] = mapped_column(Integer, nullable=False)  # less its coupon share
    # What the line puts in a library: [{"app_id", "title"}] (a bundle: its items).
    grants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")


class Entitlement(UUIDPrimaryKey, Base):
    """A game in a player's library. Revoked (refund) rows stay, with `revoked_at`."""

    __tablename__ = "entitlements"
    __table_args__ = (
        UniqueConstraint("user_id", "app_id"),
        Index("ix_entitlements_user_id_acquired_at", "user_id", "acquired_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    gifted_by: Mapped[uuid.UUID | None] = mapped_column()
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    playtime_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_played_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlaySession(UUIDPrimaryKey, Base):
    """One reported session of play; overlapping reports are refused (docs/purchases.md)."""

    __tablename__ = "play_sessions"
    __table_args__ = (
        Index("ix_play_sessions_user_app_started", "user_id", "app_id", "started_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ProductKey(UUIDPrimaryKey, Base):
    """Only the SHA-256 of a key is kept; the key itself is shown once, when made."""

    __tablename__ = "product_keys"

    app_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    redeemed_by: Mapped[uuid.UUID | None] = mapped_column()
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefundRequest(UUIDPrimaryKey, Timestamps, Base):
    """One per order. Automatic ones are approved at once; the others wait for an admin."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_refund_requests_status_created_at", "status", "created_at"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    automatic: Mapped[bool] = mapped_column(nullable=False, default=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_id: Mapped[uuid.UUID | None] = mapped_column()
