"""The purchases service: orders and the checkout saga, the library, playtime, keys, refunds."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.service import ServiceSpec
from lugx.services.purchases import internal_routes, library_routes, routes
from lugx.services.purchases.events import consumers
from lugx.services.purchases.models import EVENTS, Base
from lugx.services.purchases.recovery import recover_forever
from lugx.services.purchases.seed import seed_demo


def routers() -> list[APIRouter]:
    return [routes.router, library_routes.router, internal_routes.router]


SPEC = ServiceSpec(
    name="purchases",
    title="Purchases",
    description="Orders and checkout, the library, playtime, product keys, gifts and refunds.",
    metadata=Base.metadata,
    event_tables=EVENTS,
    migrations_package="lugx.services.purchases.migrations",
    routers=routers,
    consumers=consumers,
    seed_demo=seed_demo,
    background=(recover_forever,),
)
