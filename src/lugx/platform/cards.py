"""A payment card's details, as every merchant checks them before a processor sees them:
digits and length, the Luhn checksum, an expiry month that is not past, a security code of the
brand's length. Pure rules (the caller gives `today`). Whether a valid card pays is the
processor's answer, not this module's.

The checkout (purchases) checks a card here so a mistyped number is a 422 naming the field and
creates no order; the payments service checks again, as a processor must.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

MAX_YEARS_AHEAD = 30


@dataclass(frozen=True)
class Card:
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class Problem:
    field: str  # "number", "exp_month", "exp_year", "cvc"
    message: str
    type: str


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every card number carries in its last digit."""
    if not number.isdigit() or not number.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """The card network, from the number's first digits (its IIN range)."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    if number[:2].isdigit() and 51 <= int(number[:2]) <= 55:
        return "mastercard"
    if number[:4].isdigit() and 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    return "unknown"


def _number_problems(number: str) -> list[Problem]:
    if not number.isascii() or not number.isdigit():
        return [Problem("number", "The card number must be digits only", "card_number_digits")]
    if not 12 <= len(number) <= 19:
        return [Problem("number", "The card number must be 12 to 19 digits", "card_number_length")]
    if not luhn_valid(number):
        return [Problem("number", "The card number is not valid (checksum)", "card_number_luhn")]
    return []


def _expiry_problems(card: Card, today: date) -> list[Problem]:
    problems = []
    if not 1 <= card.exp_month <= 12:
        problems.append(Problem("exp_month", "The month must be 1 to 12", "card_expiry_month"))
    if not today.year <= card.exp_year <= today.year + MAX_YEARS_AHEAD:
        if card.exp_year < today.year:
            problems.append(Problem("exp_year", "The card has expired", "card_expired"))
        else:
            problems.append(Problem("exp_year", "The expiry year is too far ahead", "card_expiry"))
    elif not problems and (card.exp_year, card.exp_month) < (today.year, today.month):
        problems.append(Problem("exp_month", "The card has expired", "card_expired"))
    return problems


def _cvc_problems(card: Card, brand: str) -> list[Problem]:
    length = 4 if brand == "amex" else 3
    if not (card.cvc.isascii() and card.cvc.isdigit() and len(card.cvc) == length):
        return [Problem("cvc", f"The security code must be {length} digits", "card_cvc")]
    return []


def problems(card: Card, today: date) -> list[Problem]:
    """Everything wrong with the card's details (empty: the processor may try it)."""
    return [
        *_number_problems(card.number),
        *_expiry_problems(card, today),
        *_cvc_problems(card, brand_of(card.number)),
    ]


def field_errors(found: list[Problem], prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    """Problems in the platform's problem+json `errors` shape, located under `prefix`."""
    return [
        {
            "loc": [*prefix, p.field],
            "field": ".".join([*prefix[1:], p.field]),
            "message": p.message,
            "type": p.type,
        }
        for p in found
    ]
