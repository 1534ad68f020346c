"""The shopping service's tables: carts, wishlists, coupons and their uses, frozen checkouts, and
a read model of catalog prices (fed by the catalog's events) for price alerts. No other service
reads them.

Amounts are integer minor units in USD: carts, coupons and alerts are priced in the store's base
currency (docs/commerce.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lugx.platform.db import Timestamps, UTCDateTime, UUIDPrimaryKey, new_metadata, utcnow
from lugx.platform.events import event_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


EVENTS = event_tables(Base.metadata)


class Cart(UUIDPrimaryKey, Timestamps, Base):
    """One per user. `checkout_order_id` marks a checkout in progress: at most one at a time,
    taken with a conditional UPDATE and cleared when the order is paid, fails or expires."""

    __tablename__ = "carts"

    user_id: Mapped[uuid.UUID] = mapped_column(unique=True, nullable=False)
    coupon_code: Mapped[str | None] = mapped_column(String(32))
    checkout_order_id: Mapped[uuid.UUID | None] = mapped_column()
    checkout_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CartItem(UUIDPrimaryKey, Base):
    """A line: one app, for the buyer or as a gift. Title, type and image are copied from the
    catalog when added (for display); prices are never stored, always asked for."""

    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("cart_id", "app_id"),)

    cart_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    recipient_id: Mapped[uuid.UUID | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    header_image: Mapped[str | None] = mapped_column(String(2048))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Wishlist(Base):
    """A user's wishlist settings; the row exists once the user changed them."""

    __tablename__ = "wishlists"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class WishlistItem(UUIDPrimaryKey, Base):
    """A wished-for app, its place in the list (1 = most wanted) and an optional price alert.
    `alert_fired_at` is set when the alert fires and cleared when the price rises above the
    target again: one alert per drop, not per event."""

    __tablename__ = "wishlist_items"
    __table_args__ = (
        UniqueConstraint("user_id", "app_id"),
        Index("ix_wishlist_items_user_id_priority", "user_id", "priority", "app_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    app_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    header_image: Mapped[str | None] = mapped_column(String(2048))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    alert_target: Mapped[int | None] = mapped_column(Integer)
    alert_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Coupon(UUIDPrimaryKey, Timestamps, Base):
    """A code that takes a percent or a fixed USD amount off the lines it applies to.
    `uses` counts reserved and confirmed uses; it is raised with a conditional UPDATE, so the
    global limit holds under concurrency."""

    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String(32), nullable=False)
    code_key: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    percent: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    app_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    min_subtotal: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_user: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_by: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)


class CouponUse(UUIDPrimaryKey, Timestamps, Base):
    """One order's use of a coupon: `reserved` at checkout, `confirmed` when the order is paid,
    `released` when it fails or expires. One per (coupon, order)."""

    __tablename__ = "coupon_uses"
    __table_args__ = (
        UniqueConstraint("coupon_id", "order_id"),
        Index("ix_coupon_uses_coupon_id_user_id", "coupon_id", "user_id"),
    )

    coupon_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("coupons.id", ondelete="CASCADE"), nullable=False
    )
    order_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    discount: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="reserved")


class Checkout(Base):
    """The priced cart frozen for one order (what the order charges), and where it stands:
    `open` until the order is `paid` or `released` (failed or expired)."""

    __tablename__ = "checkouts"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KnownPrice(Base):
    """Read model: the last USD price the catalog announced for an app (GamePriceChanged,
    GameDiscounted). `as_of` is the event's time, so an older event arriving late is ignored;
    `sale_started_at` remembers which discount was already announced as a sale."""

    __tablename__ = "known_prices"

    app_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    base_price: Mapped[int] = mapped_column(Integer, nullable=False)
    final_price: Mapped[int] = mapped_column(Integer, nullable=False)
    discount_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sale_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
