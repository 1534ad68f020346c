"""Demo data for the quick start (never in production): the demo player's library holds a few
of the demo store's best sellers, with some hours played. Safe to run again."""

from __future__ import annotations

from datetime import timedelta

import structlog
from pydantic import TypeAdapter

from lugx.platform.db import utcnow
from lugx.platform.errors import LugxError
from lugx.platform.service import ServiceContext
from lugx.services.catalog.client import CatalogClient
from lugx.services.catalog.schemas import ShelfPage
from lugx.services.purchases import library
from lugx.services.purchases import repository as repo
from lugx.services.users.client import UsersClient

log = structlog.get_logger(__name__)

DEMO_PLAYER = "demo"
DEMO_GAMES = 5
DEMO_PLAYTIME = (1510, 340, 75, 12, 0)  # minutes, in the shelf's order
_SHELF = TypeAdapter(ShelfPage)


async def seed_demo(ctx: ServiceContext) -> None:
    try:
        player = await ctx.clients.get(UsersClient).profile(DEMO_PLAYER)
        response = await ctx.clients.get(CatalogClient).request(
            "GET", "/api/v1/catalog/shelves/top-sellers"
        )
    except LugxError:
        log.info("no demo player or demo store to fill a library from")
        return
    games = [g for g in _SHELF.validate_json(response.content).items if g.type == "game"]
    now = utcnow()
    async with ctx.db.session() as session:
        for days, (game, minutes) in enumerate(
            zip(games[:DEMO_GAMES], DEMO_PLAYTIME, strict=False)
        ):
            source = "free" if game.is_free else "purchase"
            grant = library.Grant(player.id, game.app_id, game.title, source)
            acquired = now - timedelta(days=30 * (days + 1))
            if await library.grant(session, ctx.events, grant, acquired):
                ent = await repo.entitlement(session, player.id, game.app_id)
                if ent is not None and minutes:
                    ent.playtime_minutes = minutes
                    ent.last_played_at = now - timedelta(days=days, hours=3)
