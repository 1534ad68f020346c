"""The orders this process's checkouts have just paid, so that payments' PaymentSucceeded for
one of them, which only repeats what the checkout did, is acknowledged without reading the order.

Safe because a paid order never becomes open, failed or expired again (states.py): the event
can change nothing for it. Bounded (the oldest are forgotten) and per process: an order not
found here, as in another process of the distributed wiring, takes the event's usual path.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

from lugx.platform.service import ServiceContext

REMEMBERED = 4096  # a few seconds of checkouts at the most; the event comes within milliseconds


class PaidHere:
    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._orders: OrderedDict[uuid.UUID, None] = OrderedDict()

    def add(self, order_id: uuid.UUID) -> None:
        """Call once the transaction that paid the order has committed."""
        self._orders[order_id] = None
        if len(self._orders) > self._size:
            self._orders.popitem(last=False)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders


def paid_here(ctx: ServiceContext) -> PaidHere:
    found = ctx.extras.get("purchases.paid_here")
    if found is None:
        found = ctx.extras["purchases.paid_here"] = PaidHere()
    assert isinstance(found, PaidHere)
    return found
