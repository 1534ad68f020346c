"""Demo data for the quick start (never in production): $50.00 in the demo player's wallet.

The top-up goes through the same rules as a player's, under a fixed Idempotency-Key, so a second
start finds it and moves no money.
"""

from __future__ import annotations

import structlog

from lugx.platform.db import utcnow
from lugx.platform.errors import LugxError
from lugx.platform.money import Money
from lugx.platform.service import ServiceContext
from lugx.services.payments import service
from lugx.services.payments.schemas import CardIn, TopUpCreate

log = structlog.get_logger(__name__)

DEMO_PLAYER_LOGIN = "demo"
DEMO_TOP_UP = 5_000
DEMO_KEY = "lugx-demo-wallet"


async def seed_demo(ctx: ServiceContext) -> None:
    from lugx.services.users.client import UsersClient  # the users service's public client

    try:
        player = await ctx.clients.get(UsersClient).profile(DEMO_PLAYER_LOGIN)
    except LugxError:
        log.info("no demo player to fund", login=DEMO_PLAYER_LOGIN)
        return
    today = utcnow().date()
    body = TopUpCreate(
        amount=Money(amount=DEMO_TOP_UP, currency="USD"),
        card=CardIn(number="4242424242424242", exp_month=12, exp_year=today.year + 5, cvc="123"),
    )
    payments: service.Payments = ctx.extras["payments"]
    async with ctx.db.session() as session:
        await service.top_up(session, payments, player.id, DEMO_KEY, body, today)
