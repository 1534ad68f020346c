"""Money as integer minor units with an ISO 4217 currency: `{"amount": 1999, "currency": "USD"}`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SUPPORTED_CURRENCIES = frozenset({"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "BRL", "PLN"})


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: int = Field(ge=0, le=100_000_000, description="Minor units (cents)")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
