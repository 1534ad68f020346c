"""Request and response bodies of the shopping service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from lugx.platform.money import Money

AppId = Annotated[int, Field(ge=1, le=2_000_000_000)]
CouponCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{3,32}$")
]
Visibility = Literal["public", "private"]
MAX_AMOUNT = 100_000_00  # as the catalog: anything above is a typo


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _usd(value: Money | None, field: str) -> None:
    if value is not None and value.currency != "USD":
        raise ValueError(f"{field} is in USD (carts and coupons are priced in USD)")


# --- cart -----------------------------------------------------------------------------------


class CartItemAdd(BaseModel):
    """`price` and any other field a client sends are ignored: prices come from the catalog."""

    app_id: AppId
    gift_for: uuid.UUID | None = Field(default=None, description="user_id of the recipient")


class CouponApply(Strict):
    code: CouponCode


class CartLine(BaseModel):
    app_id: int
    title: str
    type: str
    header_image: str | None
    recipient_id: uuid.UUID | None
    price: Money
    final_price: Money
    discount_percent: int
    available: bool = Field(description="False once the game is no longer for sale")
    owned: bool = Field(description="The buyer (or the gift's recipient) owns it already")


class CouponState(BaseModel):
    code: str
    percent: int | None
    amount: Money | None
    applied: bool
    reason: str | None = Field(description="Why the coupon does not apply right now")
    discount: Money


class CartRead(BaseModel):
    items: list[CartLine]
    subtotal: Money = Field(description="Sum of the lines' final prices (store discounts in)")
    discount: Money = Field(description="What the coupon takes off")
    coupon: CouponState | None
    total: Money
    currency: str
    checkout_in_progress: bool


# --- checkout (internal) --------------------------------------------------------------------


class CheckoutCreate(Strict):
    user_id: uuid.UUID
    order_id: uuid.UUID


class SettledLine(BaseModel):
    app_id: int
    recipient_id: uuid.UUID | None = None


class OrderSettled(Strict):
    """Internal: how an order frozen here ended (purchases says so at once; its events again)."""

    user_id: uuid.UUID
    status: Literal["paid", "failed", "expired"]
    lines: list[SettledLine] = Field(default_factory=list, max_length=200)


class CheckoutLine(BaseModel):
    app_id: int
    title: str
    type: str
    recipient_id: uuid.UUID | None
    price: Money
    final_price: Money = Field(description="After the store's discount, before the coupon")
    discount_percent: int
    coupon_discount: Money = Field(description="This line's share of the coupon")
    amount_due: Money = Field(description="final_price less coupon_discount: what is charged")


class CheckoutCoupon(BaseModel):
    code: str
    discount: Money


class CheckoutRead(BaseModel):
    order_id: uuid.UUID
    user_id: uuid.UUID
    items: list[CheckoutLine]
    subtotal: Money
    discount: Money
    coupon: CheckoutCoupon | None
    total: Money
    currency: str
    created_at: datetime


# --- wishlist -------------------------------------------------------------------------------


class WishlistItemAdd(BaseModel):
    app_id: AppId
    priority: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="Place in the list, 1 = most wanted (default: last)"
    )


class WishlistOrder(Strict):
    app_ids: list[AppId] = Field(max_length=2000, description="Every wishlisted app, in order")


class WishlistSettings(Strict):
    visibility: Visibility


class WishlistRead(BaseModel):
    user_id: uuid.UUID
    visibility: Visibility
    count: int


class PriceAlert(Strict):
    target_price: Money

    @model_validator(mode="after")
    def _usd_target(self) -> PriceAlert:
        _usd(self.target_price, "target_price")
        return self


class WishlistLine(BaseModel):
    app_id: int
    title: str
    type: str
    header_image: str | None
    priority: int
    added_at: datetime
    price: Money | None = Field(description="Null once the game is no longer for sale")
    final_price: Money | None
    discount_percent: int
    alert_target: Money | None


# --- coupons --------------------------------------------------------------------------------


class CouponCreate(Strict):
    code: CouponCode
    percent: Annotated[int, Field(ge=1, le=100)] | None = None
    amount: Money | None = Field(default=None, description="A fixed amount off, in USD")
    valid_from: datetime | None = Field(default=None, description="Default: now")
    valid_until: datetime | None = None
    app_ids: list[AppId] = Field(
        default_factory=list, max_length=100, description="Empty: every game (admins only)"
    )
    min_subtotal: Money | None = None
    max_uses: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    max_uses_per_user: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _rules(self) -> CouponCreate:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("give either percent or amount, not both")
        _usd(self.amount, "amount")
        _usd(self.min_subtotal, "min_subtotal")
        if self.amount is not None and not 0 < self.amount.amount <= MAX_AMOUNT:
            raise ValueError("amount must be above zero and sensible")
        for moment in (self.valid_from, self.valid_until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times need a time zone (RFC 3339)")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if len(set(self.app_ids)) != len(self.app_ids):
            raise ValueError("app_ids has duplicates")
        return self


class CouponUpdate(Strict):
    active: bool


class CouponRead(BaseModel):
    id: uuid.UUID
    code: str
    percent: int | None
    amount: Money | None
    valid_from: datetime
    valid_until: datetime | None
    app_ids: list[int]
    min_subtotal: Money
    max_uses: int | None
    max_uses_per_user: int | None
    uses: int
    active: bool
    created_by: uuid.UUID
    created_at: datetime
