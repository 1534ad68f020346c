"""The sandbox card processor: checks a card the way a real one does and answers like one.

Pure rules, no database and no clock beyond the `today` it is given. Card numbers never leave
this module except as a brand and the last four digits.

Test numbers (any future expiry, any CVC of the right length):
    4242424242424242   succeeds
    4000000000000002   declined: card_declined
    4000000000009995   declined: insufficient_funds
    4000000000000069   declined: expired_card
    4000002500003155   requires the confirmation step (like 3-D Secure)
Any other number that passes the checks succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from lugx.platform.cards import Card, Problem, brand_of, field_errors, luhn_valid, problems

__all__ = [
    "Authorization",
    "Card",
    "Problem",
    "authorize",
    "brand_of",
    "field_errors",
    "luhn_valid",
    "problems",
]

Outcome = Literal["succeeded", "failed", "requires_confirmation"]

DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}
NEEDS_CONFIRMATION = frozenset({"4000002500003155"})


@dataclass(frozen=True)
class Authorization:
    outcome: Outcome
    brand: str
    last4: str
    failure_code: str | None = None


def authorize(card: Card, today: date) -> Authorization:
    """The processor's answer for a card whose details are valid (check `problems` first)."""
    brand, last4 = brand_of(card.number), card.last4
    if card.number in NEEDS_CONFIRMATION:
        return Authorization("requires_confirmation", brand, last4)
    decline = DECLINES.get(card.number)
    if decline is not None:
        return Authorization("failed", brand, last4, decline)
    return Authorization("succeeded", brand, last4)
