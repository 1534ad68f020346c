"""The order state machine (docs/commerce.md): every allowed move is in this one table.

Anything else raises a 409. `move` also keeps `open_user_id` right: set while a checkout is in
flight (pending, awaiting_payment), NULL otherwise, so the UNIQUE constraint on it lets a player
have one checkout in flight at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from lugx.platform.errors import Conflict
from lugx.services.purchases.models import Order

OrderStatus = Literal[
    "pending", "awaiting_payment", "paid", "failed", "expired", "completed", "refunded"
]

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"paid", "failed", "awaiting_payment", "expired"}),
    "awaiting_payment": frozenset({"paid", "failed", "expired"}),
    "paid": frozenset({"completed", "refunded"}),
    "completed": frozenset({"refunded"}),
    "failed": frozenset(),
    "expired": frozenset(),
    "refunded": frozenset(),
}

OPEN = frozenset({"pending", "awaiting_payment"})
PAID = frozenset({"paid", "completed"})  # the buyer owns what is in it
HAS_RECEIPT = frozenset({"paid", "completed", "refunded"})


class IllegalTransition(Conflict):
    code = "order-state"


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def move(order: Order, to: OrderStatus, now: datetime) -> None:
    if not can_move(order.status, to):
        raise IllegalTransition(f"An order that is {order.status} cannot become {to}")
    order.status = to
    order.open_user_id = order.user_id if to in OPEN else None
    if to == "paid":
        order.paid_at = now
        order.expires_at = None
    elif to == "completed":
        order.completed_at = now
    elif to == "refunded":
        order.refunded_at = now
