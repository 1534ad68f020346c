"""The shopping service: carts, wishlists, coupons, price alerts, and the checkout snapshot."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.service import ServiceSpec
from lugx.services.shopping import internal_routes, routes
from lugx.services.shopping.events import consumers
from lugx.services.shopping.models import EVENTS, Base
from lugx.services.shopping.seed import seed_demo


def routers() -> list[APIRouter]:
    return [routes.router, internal_routes.router]


SPEC = ServiceSpec(
    name="shopping",
    title="Shopping",
    description="Carts, wishlists, coupons and price alerts.",
    metadata=Base.metadata,
    event_tables=EVENTS,
    migrations_package="lugx.services.shopping.migrations",
    routers=routers,
    consumers=consumers,
    seed_demo=seed_demo,
)
