"""Forms: what a player typed, turned into an API body, and the APIs' problems put back next to
the field that caused them (problem+json `errors[].field` -> the form's field names)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from lugx.platform.errors import LugxError

FORM = "_form"  # problems that belong to no one field

_PRICE = re.compile(r"^\s*(\d{1,7})(?:[.,](\d{1,2}))?\s*$")


class FieldErrors(dict[str, list[str]]):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def api_errors(exc: LugxError, aliases: Mapping[str, str] | None = None) -> FieldErrors:
    """Each API field problem under its form field (`price.amount` -> `price`), the rest under
    FORM. `aliases` maps an API field to a form field of another name."""
    found = FieldErrors()
    for problem in exc.errors or []:
        field = str(problem.get("field") or "")
        message = str(problem.get("message") or "is not valid")
        root = field.split(".")[0]
        name = (aliases or {}).get(field) or (aliases or {}).get(root) or root
        found.add(name or FORM, message.removeprefix("Value error, "))
    if not found:
        found.add(FORM, exc.detail)
    return found


def parse_price(text: str, errors: FieldErrors, field: str) -> int | None:
    """'19.99' -> 1999 cents. Empty is None (no change)."""
    if not text.strip():
        return None
    match = _PRICE.match(text)
    if match is None:
        errors.add(field, "Write a price like 19.99")
        return None
    whole, cents = match.group(1), (match.group(2) or "0").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def parse_date(text: str, errors: FieldErrors, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.add(field, "Write a date like 2026-12-31")
        return None


def parse_utc(text: str, errors: FieldErrors, field: str) -> datetime | None:
    """A `datetime-local` value, taken as UTC (the form says so)."""
    if not text:
        errors.add(field, "Required")
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        errors.add(field, "Write a time like 2026-12-31T18:00")
        return None


def parse_int(text: str, errors: FieldErrors, field: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 10:
        errors.add(field, "Write a whole number")
        return None
    return int(text)


def split_list(text: str) -> list[str]:
    """'a, b,,c' -> ['a', 'b', 'c'] (developers, tags)."""
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def cents_text(amount: int | None) -> str:
    return "" if amount is None else f"{amount // 100}.{amount % 100:02d}"


def values_of(form: Mapping[str, Any]) -> dict[str, Any]:
    """The typed values to show again in a refused form (never the password)."""
    return {k: v for k, v in form.items() if "password" not in k and k != "csrf"}
