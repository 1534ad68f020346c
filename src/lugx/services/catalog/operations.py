"""What other services ask the catalog, as functions of its context: its internal routes
answer them over HTTP, and its typed client runs them directly when the catalog is in the
caller's process (see lugx.platform.clients)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from lugx.platform.db import utcnow
from lugx.platform.errors import check_size
from lugx.platform.service import ServiceContext
from lugx.services.catalog import repository as repo
from lugx.services.catalog.pricing import quote
from lugx.services.catalog.schemas import SELLABLES_PER_CALL, Sellable
from lugx.services.catalog.views import sellable


async def sellables(ctx: ServiceContext, app_ids: Sequence[int]) -> dict[int, Sellable]:
    """What a cart needs of these items now, by app_id, whatever their status (the caller
    decides what a draft means to it): unknown app_ids are left out. The items of a bundle among
    them come too, so that its "complete the set" price needs no second call. One query, two
    when there are bundles. At most SELLABLES_PER_CALL app_ids."""
    check_size("app_ids", len(app_ids), most=SELLABLES_PER_CALL)
    now = utcnow()
    async with ctx.db.session(write=False) as session:
        games = await repo.sellable_games(session, list(app_ids))
        bundles = [game.id for game in games if game.type == "bundle"]
        found = {game.app_id: game for game in games}
        items_of: dict[uuid.UUID, list[int]] = {}
        for bundle_id, item in await repo.bundle_contents(session, bundles):
            items_of.setdefault(bundle_id, []).append(item.app_id)
            found.setdefault(item.app_id, item)
    return {
        app_id: sellable(game, quote(game, now), items_of.get(game.id, []))
        for app_id, game in found.items()
    }
