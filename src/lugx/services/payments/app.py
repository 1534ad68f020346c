"""The payments service: wallets on a double-entry ledger, top-ups, charges, refunds, and the
sandbox card processor."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.service import ServiceContext, ServiceSpec
from lugx.services.payments import internal_routes, routes
from lugx.services.payments.models import EVENTS, Base
from lugx.services.payments.seed import seed_demo
from lugx.services.payments.service import Payments


def configure(ctx: ServiceContext) -> None:
    ctx.extras["payments"] = Payments(
        events=ctx.events, settings=ctx.settings, secret_key=ctx.secret_key
    )


def routers() -> list[APIRouter]:
    return [routes.router, internal_routes.router]


SPEC = ServiceSpec(
    name="payments",
    title="Payments",
    description="Wallets on a double-entry ledger, top-ups, charges, refunds, the sandbox card "
    "processor.",
    metadata=Base.metadata,
    event_tables=EVENTS,
    migrations_package="lugx.services.payments.migrations",
    routers=routers,
    configure=configure,
    seed_demo=seed_demo,
)
