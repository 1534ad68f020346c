"""The orders this process's checkouts have just paid, so that payments' PaymentSucceeded for
one of them, which only repeats what the checkout did, is acknowledged without a transaction
(`SkipWhen`). Safe because a paid order never becomes open, failed or expired again
(states.py): the event can change nothing for it.
"""

from __future__ import annotations

from lugx.platform.events import DoneHere
from lugx.platform.service import ServiceContext


def paid_here(ctx: ServiceContext) -> DoneHere:
    return DoneHere.of(ctx.extras, "purchases.paid_here")
