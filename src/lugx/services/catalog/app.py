"""The catalog service: games, DLC, bundles, prices, discounts, shelves, search."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.service import ServiceContext, ServiceSpec
from lugx.services.catalog import internal_routes, routes
from lugx.services.catalog.events import announce_discounts_forever, consumers
from lugx.services.catalog.models import EVENTS, Base
from lugx.services.catalog.search_routes import router as search_router
from lugx.services.catalog.seed import seed_demo
from lugx.services.catalog.service import Catalog


def configure(ctx: ServiceContext) -> None:
    ctx.extras["catalog"] = Catalog(events=ctx.events, cache=ctx.cache)


def routers() -> list[APIRouter]:
    # Search first: `/games` (the list) must not be taken for `/games/{app_id}`.
    return [search_router, routes.router, internal_routes.router]


SPEC = ServiceSpec(
    name="catalog",
    title="Catalog",
    description="Games, DLC, bundles, prices, discounts, store shelves and search.",
    metadata=Base.metadata,
    event_tables=EVENTS,
    migrations_package="lugx.services.catalog.migrations",
    routers=routers,
    consumers=consumers,
    configure=configure,
    seed_demo=seed_demo,
    background=(announce_discounts_forever,),
    raw_tables=("game_search",),
)
