"""What purchases asks payments on every checkout, as a function of payments' context: its
internal route answers it over HTTP, and its typed client runs it directly when payments is
in the caller's process (see lugx.platform.clients)."""

from __future__ import annotations

from lugx.platform.db import utcnow
from lugx.platform.errors import check_size
from lugx.platform.service import ServiceContext
from lugx.services.payments import service
from lugx.services.payments.schemas import IDEMPOTENCY_KEY_MAX, ChargeCreate, ChargeRead
from lugx.services.payments.views import charge_read


async def charge(ctx: ServiceContext, key: str, body: ChargeCreate) -> ChargeRead:
    """Charge an order under `key` (the order id by default). A declined charge is a charge
    with `status: "failed"`; a replay of the key returns the charge as it is now. The key is
    checked as the endpoint's Idempotency-Key header is."""
    check_size("Idempotency-Key", len(key), most=IDEMPOTENCY_KEY_MAX)
    async with ctx.db.session() as session:
        made = await service.charge(session, ctx.extras["payments"], key, body, utcnow().date())
        return charge_read(made)
