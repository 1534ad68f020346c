"""Pure pricing rules of a cart: bundles' "complete the set", what a coupon takes off and how
that is shared among the lines. No I/O here: the prices come in from the catalog (lookups.py).

Amounts are USD minor units. Discounted amounts round half up, as the catalog rounds them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from lugx.platform.money import Money
from lugx.services.shopping.models import Coupon


def usd(amount: int) -> Money:
    """Carts, coupons and alerts are priced in USD, the store's base currency."""
    return Money(amount=amount, currency="USD")


def discounted(amount: int, percent: int) -> int:
    return (amount * (100 - percent) + 50) // 100


@dataclass(frozen=True, slots=True)
class Quote:
    price: int  # before any discount
    final: int  # what the store charges now
    discount_percent: int


def bundle_quote(missing_finals: list[int], bundle_percent: int, store_percent: int) -> Quote:
    """The catalog's rule for a bundle: the items the player does not own yet, less the
    bundle's own discount or a store discount running on the bundle, whichever is larger."""
    subtotal = sum(missing_finals)
    percent = max(bundle_percent, store_percent)
    return Quote(price=subtotal, final=discounted(subtotal, percent), discount_percent=percent)


@dataclass(slots=True)
class PricedLine:
    app_id: int
    title: str
    type: str
    header_image: str | None
    recipient_id: uuid.UUID | None
    quote: Quote | None  # None: no longer for sale
    owned: bool

    @property
    def sellable(self) -> bool:
        return self.quote is not None and not self.owned


@dataclass(slots=True)
class CouponOutcome:
    code: str
    applied: bool
    reason: str | None
    discount: int = 0
    shares: dict[int, int] = field(default_factory=dict)  # app_id -> amount off


REASONS = {
    "inactive": "The coupon has been deactivated",
    "not-started": "The coupon is not valid yet",
    "expired": "The coupon has expired",
    "used-up": "The coupon has been used as many times as it may be",
    "user-limit": "You have used this coupon as many times as you may",
    "not-applicable": "The coupon applies to none of the games in your cart",
    "minimum-not-met": "The cart is below the coupon's minimum subtotal",
}


def _refused(coupon: Coupon, reason: str) -> CouponOutcome:
    return CouponOutcome(code=coupon.code, applied=False, reason=reason)


def coupon_problem(coupon: Coupon, now: datetime, user_uses: int) -> str | None:
    """What keeps the coupon from being used by this user now, whatever the cart holds."""
    if not coupon.active:
        return "inactive"
    if now < coupon.valid_from:
        return "not-started"
    if coupon.valid_until is not None and now >= coupon.valid_until:
        return "expired"
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return "used-up"
    if coupon.max_uses_per_user is not None and user_uses >= coupon.max_uses_per_user:
        return "user-limit"
    return None


def apply_coupon(
    coupon: Coupon, lines: list[PricedLine], now: datetime, user_uses: int
) -> CouponOutcome:
    """What the coupon takes off this cart now, and from which lines."""
    problem = coupon_problem(coupon, now, user_uses)
    if problem is not None:
        return _refused(coupon, problem)
    sellable = [line for line in lines if line.sellable and line.quote is not None]
    scope = set(coupon.app_ids)
    eligible = {
        line.app_id: line.quote.final
        for line in sellable
        if line.quote is not None and (not scope or line.app_id in scope)
    }
    eligible = {app_id: final for app_id, final in eligible.items() if final > 0}
    if not eligible:
        return _refused(coupon, "not-applicable")
    if sum(line.quote.final for line in sellable if line.quote) < coupon.min_subtotal:
        return _refused(coupon, "minimum-not-met")
    base = sum(eligible.values())
    if coupon.percent is not None:
        off = (base * coupon.percent + 50) // 100
    else:
        off = min(coupon.amount or 0, base)
    return CouponOutcome(
        code=coupon.code, applied=True, reason=None, discount=off, shares=share(off, eligible)
    )


def share(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Split `total` across keys in proportion to their weights, exactly (largest remainder;
    ties to the earlier key), never giving a key more than its weight."""
    whole = sum(weights.values())
    if whole == 0 or total == 0:
        return dict.fromkeys(weights, 0)
    floors = {key: total * weight // whole for key, weight in weights.items()}
    left = total - sum(floors.values())
    by_remainder = sorted(weights, key=lambda key: -(total * weights[key] % whole))
    for key in by_remainder[:left]:
        floors[key] += 1
    return floors
