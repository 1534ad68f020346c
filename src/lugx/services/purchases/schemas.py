"""Request and response bodies of the purchases service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from lugx.platform.money import Money
from lugx.services.payments.schemas import CardIn

PaymentMethod = Literal["wallet", "card"]
Source = Literal["purchase", "gift", "free", "key"]
RefundStatus = Literal["pending", "approved", "denied"]

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
KeyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=40)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckoutRequest(Strict):
    payment_method: PaymentMethod
    # Payments' own card body: checked for form here (lugx.platform.cards: a 422 before any
    # order), then handed to payments as it is and never stored by purchases.
    card: CardIn | None = None

    @model_validator(mode="after")
    def _card_with_card(self) -> CheckoutRequest:
        if self.payment_method == "card" and self.card is None:
            raise ValueError("paying by card needs `card`")
        if self.payment_method == "wallet" and self.card is not None:
            raise ValueError("`card` is only for payment_method card")
        return self


class OrderLineRead(BaseModel):
    app_id: int
    title: str
    type: str
    recipient_id: uuid.UUID | None
    price: Money
    final_price: Money = Field(description="After the store's discount")
    amount_due: Money = Field(description="final_price less this line's share of the coupon")
    grants: list[int] = Field(description="app_ids this line puts in a library")


class OrderRead(BaseModel):
    id: uuid.UUID
    status: str
    payment_method: PaymentMethod
    lines: list[OrderLineRead]
    subtotal: Money
    discount: Money
    total: Money
    coupon_code: str | None
    charge_id: uuid.UUID | None = Field(
        description="Confirm this charge with payments while the order is awaiting_payment"
    )
    failure_reason: str | None
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    completed_at: datetime | None
    refunded_at: datetime | None


class CardRead(BaseModel):
    brand: str
    last4: str


class ReceiptRead(BaseModel):
    receipt_number: str
    order_id: uuid.UUID
    buyer_id: uuid.UUID
    status: str
    issued_at: datetime
    payment_method: PaymentMethod
    card: CardRead | None
    lines: list[OrderLineRead]
    subtotal: Money
    discount: Money
    total: Money
    coupon_code: str | None
    refunded_at: datetime | None


class EntitlementRead(BaseModel):
    app_id: int
    title: str
    source: Source
    acquired_at: datetime
    playtime_minutes: int
    last_played_at: datetime | None
    order_id: uuid.UUID | None
    gifted_by: uuid.UUID | None


class PlaytimeReport(Strict):
    started_at: datetime
    ended_at: datetime

    @model_validator(mode="after")
    def _aware(self) -> PlaytimeReport:
        if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
            raise ValueError("times need a time zone (RFC 3339)")
        return self


class KeysCreate(Strict):
    app_id: Annotated[int, Field(ge=1)]
    count: Annotated[int, Field(ge=1, le=100)]


class KeysCreated(BaseModel):
    app_id: int
    keys: list[str] = Field(description="Shown once: only their hashes are kept")


class KeyRedeem(Strict):
    key: KeyText


class RefundCreate(Strict):
    reason: Reason


class RefundDecision(Strict):
    note: Note = ""


class RefundRead(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    user_id: uuid.UUID
    status: RefundStatus
    automatic: bool
    reason: str
    amount: Money
    note: str | None
    created_at: datetime
    decided_at: datetime | None


class OwnedItem(BaseModel):
    app_id: int
    source: Source
    playtime_minutes: int
    acquired_at: datetime


class OwnedList(BaseModel):
    items: list[OwnedItem]
