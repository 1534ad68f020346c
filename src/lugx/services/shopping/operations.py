"""What other services (purchases) ask shopping, as functions of its context: its internal
routes answer them over HTTP, and its typed client runs them directly when shopping is in the
caller's process (see lugx.platform.clients)."""

from __future__ import annotations

import uuid

from lugx.platform.db import utcnow
from lugx.platform.service import ServiceContext
from lugx.services.shopping import events, service
from lugx.services.shopping.schemas import CheckoutRead, OrderSettled


async def checkout(ctx: ServiceContext, user_id: uuid.UUID, order_id: uuid.UUID) -> CheckoutRead:
    """Freeze the user's priced cart for this order and reserve its coupon use (service.checkout:
    idempotent per order_id; Conflict when it cannot)."""
    return await service.checkout(ctx, user_id, order_id, utcnow())


async def settled(ctx: ServiceContext, order_id: uuid.UUID, body: OrderSettled) -> None:
    """How the order ended, told by purchases the moment it knows, so the player's next look at
    the cart already shows it (the bought lines gone, or the hold lifted). The order's events
    say the same later; whichever comes first settles the checkout, the other changes nothing."""
    payload = {
        "order_id": str(order_id),
        "user_id": str(body.user_id),
        "lines": [line.model_dump(mode="json") for line in body.lines],
    }
    async with ctx.db.session() as session:
        if body.status == "paid":
            await events.order_paid(session, ctx.events, payload)
        else:
            await events.order_released(session, payload)
    events.settled_here(ctx).add(order_id)  # committed: the order's event can skip it
