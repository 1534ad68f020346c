"""What shopping asks other services: the catalog (games and prices, who publishes a game),
purchases (who owns what) and users (does a gift's recipient exist). Every call goes through
`ctx.client(...)`, so it carries the shopping service's token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from lugx.platform.errors import NotFound
from lugx.platform.service import ServiceContext
from lugx.services import SERVICE_MODULES
from lugx.services.catalog.client import CatalogClient
from lugx.services.catalog.schemas import GameDetail, PriceRead
from lugx.services.users.client import UsersClient

PRICES_PER_CALL = 100  # the catalog's /prices takes at most this many app_ids


async def published_game(ctx: ServiceContext, app_id: int) -> GameDetail:
    """The game as the public sees it; NotFound when unknown or not for sale."""
    try:
        game = await ctx.client(CatalogClient).game(app_id)
    except NotFound:
        raise NotFound(f"No game with app_id {app_id} is for sale", code="game-not-found") from None
    if game.status != "published":
        raise NotFound(f"No game with app_id {app_id} is for sale", code="game-not-found")
    return game


async def prices(ctx: ServiceContext, app_ids: Iterable[int]) -> dict[int, PriceRead]:
    """Current USD prices of the published ones among `app_ids` (the others are left out)."""
    wanted = sorted(set(app_ids))
    catalog = ctx.client(CatalogClient)
    found: dict[int, PriceRead] = {}
    for start in range(0, len(wanted), PRICES_PER_CALL):
        found.update(await catalog.prices(wanted[start : start + PRICES_PER_CALL]))
    return found


async def manages_game(ctx: ServiceContext, app_id: int, user_id: uuid.UUID) -> bool:
    """Whether the user belongs to the game's publisher (NotFound: no such game)."""
    return await ctx.client(CatalogClient).is_publisher_member(app_id, user_id)


async def owned(ctx: ServiceContext, user_id: uuid.UUID, app_ids: Iterable[int]) -> set[int]:
    """The app_ids among these that the user owns. A build without the purchases service has
    no library, so nobody owns anything (as the catalog assumes)."""
    wanted = sorted(set(app_ids))
    if not wanted or "purchases" not in SERVICE_MODULES:
        return set()
    from lugx.services.purchases.client import PurchasesClient  # optional service

    return set(await ctx.client(PurchasesClient).owned(user_id, wanted))


async def user_exists(ctx: ServiceContext, user_id: uuid.UUID) -> bool:
    try:
        await ctx.client(UsersClient).profile(user_id)
    except NotFound:
        return False
    return True
