"""The catalog service: games, DLC, bundles, prices, discounts, shelves, search."""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from lugx.platform.auth import Principal
from lugx.platform.errors import ServiceUnavailable
from lugx.platform.service import ServiceContext, ServiceSpec
from lugx.services.catalog import internal_routes, routes
from lugx.services.catalog.events import announce_discounts_forever, consumers
from lugx.services.catalog.models import EVENTS, Base
from lugx.services.catalog.search_routes import router as search_router
from lugx.services.catalog.seed import seed_demo
from lugx.services.catalog.service import Catalog, OwnershipLookup

log = structlog.get_logger(__name__)


def configure(ctx: ServiceContext) -> None:
    ctx.extras["catalog"] = Catalog(
        events=ctx.events, cache=ctx.cache, owned_app_ids=ownership_from_purchases(ctx)
    )


def ownership_from_purchases(ctx: ServiceContext) -> OwnershipLookup:
    """What a viewer owns, asked of the purchases service (one call for a bundle's items). If
    purchases cannot answer, the viewer is shown the whole set's price, never a wrong discount
    that checkout would not honour (shopping prices the cart from ownership itself)."""
    from lugx.services.purchases.client import PurchasesClient  # purchases imports the catalog

    async def owned(viewer: Principal | None, app_ids: list[int]) -> set[int]:
        if viewer is None or not app_ids:
            return set()
        try:
            return set(await ctx.client(PurchasesClient).owned(viewer.user_id, app_ids))
        except ServiceUnavailable:
            log.warning("purchases did not answer; bundle priced as if nothing were owned")
            return set()

    return owned


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
    long_reads=True,  # searches: a few milliseconds of FTS5 each, off the event loop
)
