"""What the reviews service asks other services, each behind one small function: does the player
own the game (purchases), is the game in early access (catalog), may this user answer for the
game's publisher (catalog). Calls carry this service's token (`ctx.client`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lugx.platform.auth import Principal
from lugx.platform.service import ServiceContext
from lugx.services.catalog.client import CatalogClient
from lugx.services.purchases.client import PurchasesClient

# Sources of a copy that cost the player nothing: Steam's "product received for free".
FREE_SOURCES = frozenset({"free", "key"})


@dataclass(frozen=True)
class Copy:
    """The player's copy of a game, as the library knows it."""

    source: str
    playtime_minutes: int

    @property
    def received_for_free(self) -> bool:
        return self.source in FREE_SOURCES


async def owned_copy(ctx: ServiceContext, user_id: uuid.UUID, app_id: int) -> Copy | None:
    """The player's copy of the game, or None if they do not own it."""
    item = (await ctx.client(PurchasesClient).owned(user_id, [app_id])).get(app_id)
    if item is None:
        return None
    return Copy(source=item.source, playtime_minutes=item.playtime_minutes)


async def in_early_access(ctx: ServiceContext, app_id: int) -> bool:
    """Whether the (published) game is in early access now; NotFound if there is no such game."""
    return (await ctx.client(CatalogClient).game(app_id)).early_access


async def speaks_for_publisher(ctx: ServiceContext, principal: Principal, app_id: int) -> bool:
    """Admins, and members of the publisher that owns the game who hold the publisher role."""
    if principal.is_admin:
        return True
    if not principal.has_role("publisher"):
        return False
    return await ctx.client(CatalogClient).is_publisher_member(app_id, principal.user_id)
