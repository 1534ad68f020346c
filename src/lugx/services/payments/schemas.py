"""Request and response bodies of the payments service (public and internal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lugx.platform.money import Money

ChargeStatus = Literal["succeeded", "failed", "requires_confirmation", "canceled"]
TopUpStatus = Literal["succeeded", "failed", "requires_confirmation"]
Method = Literal["wallet", "card"]

# The longest Idempotency-Key a money-moving request may send.
IDEMPOTENCY_KEY_MAX = 255


class CardIn(BaseModel):
    """A card as typed by the player. Only its shape is checked here; the sandbox processor
    checks the number, expiry and security code (so a charge can fail with `invalid_card`)."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=32, repr=False)
    exp_month: int = Field(ge=-1_000, le=1_000)
    exp_year: int = Field(ge=-10_000, le=10_000)
    cvc: str = Field(min_length=1, max_length=8, repr=False)


class CardRead(BaseModel):
    brand: str
    last4: str


class NextAction(BaseModel):
    type: Literal["confirm"] = "confirm"
    url: str


class TopUpCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money
    card: CardIn


class TopUpRead(BaseModel):
    id: uuid.UUID
    status: TopUpStatus
    amount: Money
    card: CardRead
    failure_code: str | None = None
    next_action: NextAction | None = None
    created_at: datetime


class WalletRead(BaseModel):
    balance: Money
    currency: str
    updated_at: datetime | None


class WalletEntryRead(BaseModel):
    id: uuid.UUID
    sequence: int
    kind: str  # what moved the money: top_up, charge, refund
    reference_id: uuid.UUID  # the top-up, charge or refund
    direction: Literal["credit", "debit"]
    amount: Money
    balance_after: Money
    created_at: datetime


class ConfirmationRead(BaseModel):
    """What a confirmation settled: a top-up or a charge."""

    id: uuid.UUID
    kind: Literal["top_up", "charge"]
    status: str
    amount: Money
    order_id: uuid.UUID | None = None
    card: CardRead | None = None
    created_at: datetime


# --- internal: purchases ----------------------------------------------------------------------


class ChargeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    order_id: uuid.UUID
    amount: Money
    method: Method
    card: CardIn | None = None


class ChargeRead(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    user_id: uuid.UUID
    amount: Money
    method: Method
    status: ChargeStatus
    failure_code: str | None = None
    failure_message: str | None = None
    card: CardRead | None = None
    refunded: Money
    created_at: datetime


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money
    reason: str = Field(default="", max_length=500)


class RefundRead(BaseModel):
    id: uuid.UUID
    charge_id: uuid.UUID
    order_id: uuid.UUID
    user_id: uuid.UUID
    amount: Money
    destination: Literal["wallet", "card"]
    reason: str
    created_at: datetime
