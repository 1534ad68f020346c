"""What other services ask the catalog, as functions of its context: its internal routes
answer them over HTTP, and its typed client runs them directly when the catalog is in the
caller's process (see lugx.platform.clients)."""

from __future__ import annotations

from collections.abc import Sequence

from lugx.platform.db import utcnow
from lugx.platform.errors import check_size
from lugx.platform.service import ServiceContext
from lugx.services.catalog import sellable_cache
from lugx.services.catalog.pricing import quote
from lugx.services.catalog.schemas import SELLABLES_PER_CALL, Sellable
from lugx.services.catalog.service import GENERATION_KEY
from lugx.services.catalog.views import sellable


async def sellables(ctx: ServiceContext, app_ids: Sequence[int]) -> dict[int, Sellable]:
    """What a cart needs of these items now, by app_id, whatever their status (the caller
    decides what a draft means to it): unknown app_ids are left out. The items of a bundle among
    them come too, so that its "complete the set" price needs no second call. Rows come from the
    catalog's cache (sellable_cache), else one query, two when there are bundles. At most
    SELLABLES_PER_CALL app_ids."""
    check_size("app_ids", len(app_ids), most=SELLABLES_PER_CALL)
    cache = ctx.cache
    generation, _ = await cache.counter(GENERATION_KEY)
    found = await sellable_cache.load(cache, ctx.db, generation, dict.fromkeys(app_ids))
    items = {item for row in found.values() for item in row.items if item not in found}
    if items:
        found.update(await sellable_cache.load(cache, ctx.db, generation, items))
    now = utcnow()
    return {
        app_id: sellable(row, quote(row, now), [item for item in row.items if item in found])
        for app_id, row in found.items()
    }
