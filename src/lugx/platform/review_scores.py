"""How a game's reviews read in one line: Steam's scale, from "Overwhelmingly Positive" down to
"Overwhelmingly Negative". The catalog (its read model, seeded data) and the reviews service use
the same rule, so a score means the same thing everywhere.

The percentage is rounded down: 94.9 % positive is not yet "95 %", so the thresholds compare
the exact ratio. Under ten reviews there is no score and no description.
"""

from __future__ import annotations

MIN_REVIEWS = 10

OVERWHELMINGLY_POSITIVE = "Overwhelmingly Positive"
VERY_POSITIVE = "Very Positive"
POSITIVE = "Positive"
MOSTLY_POSITIVE = "Mostly Positive"
MIXED = "Mixed"
MOSTLY_NEGATIVE = "Mostly Negative"
NEGATIVE = "Negative"
VERY_NEGATIVE = "Very Negative"
OVERWHELMINGLY_NEGATIVE = "Overwhelmingly Negative"

DESCRIPTIONS = (
    OVERWHELMINGLY_POSITIVE,
    VERY_POSITIVE,
    POSITIVE,
    MOSTLY_POSITIVE,
    MIXED,
    MOSTLY_NEGATIVE,
    NEGATIVE,
    VERY_NEGATIVE,
    OVERWHELMINGLY_NEGATIVE,
)


def review_score(total: int, positive: int) -> int | None:
    """Percent positive, rounded down; None under ten reviews."""
    if total < MIN_REVIEWS:
        return None
    if not 0 <= positive <= total:
        raise ValueError("positive reviews must be between 0 and the total")
    return positive * 100 // total


def review_description(total: int, positive: int) -> str | None:
    score = review_score(total, positive)
    if score is None:
        return None
    if score >= 80:
        if score >= 95 and total >= 500:
            return OVERWHELMINGLY_POSITIVE
        return VERY_POSITIVE if total >= 50 else POSITIVE
    if score >= 70:
        return MOSTLY_POSITIVE
    if score >= 40:
        return MIXED
    if score >= 20:
        return MOSTLY_NEGATIVE
    if total >= 500:
        return OVERWHELMINGLY_NEGATIVE
    return VERY_NEGATIVE if total >= 50 else NEGATIVE
