"""Demo data for the quick start (never in production): the demo player (README) has a few
games on a public wishlist and one in the cart."""

from __future__ import annotations

import structlog
from sqlalchemy import func, select

from lugx.platform.auth import Principal
from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict, LugxError
from lugx.platform.service import ServiceContext
from lugx.services.catalog.client import CatalogClient
from lugx.services.shopping import service, wishlist
from lugx.services.shopping.models import Cart, WishlistItem
from lugx.services.shopping.schemas import CartItemAdd, WishlistItemAdd
from lugx.services.users.client import UsersClient

log = structlog.get_logger(__name__)

DEMO_PLAYER = "demo"
DEMO_WISHES = 4


async def _shelf(ctx: ServiceContext) -> list[int]:
    response = await ctx.client(CatalogClient).request(
        "GET", "/api/v1/catalog/shelves/top-sellers", params={"limit": 12}
    )
    return [int(item["app_id"]) for item in response.json()["items"]]


async def seed_demo(ctx: ServiceContext) -> None:
    async with ctx.db.session(write=False) as session:
        taken = await session.scalar(select(func.count()).select_from(WishlistItem))
        taken = taken or await session.scalar(select(func.count()).select_from(Cart))
    if taken:
        return
    try:
        player = await ctx.clients.get(UsersClient).profile(DEMO_PLAYER)
        app_ids = await _shelf(ctx)
    except LugxError:
        log.info("no demo player or catalog to shop from")
        return
    principal = Principal(
        user_id=player.id,
        account_id=player.account_id,
        roles=frozenset({"player"}),
        session_id=None,
        expires_at=0,
    )
    wished, carted = 0, False
    for app_id in app_ids:  # skipping what the demo player owns already (purchases' demo)
        try:
            if not carted:
                await service.add_to_cart(ctx, principal, CartItemAdd(app_id=app_id), utcnow())
                carted = True
            elif wished < DEMO_WISHES:
                await wishlist.add(ctx, player.id, WishlistItemAdd(app_id=app_id))
                wished += 1
        except Conflict:
            continue
    async with ctx.db.session() as session:
        await wishlist.set_visibility(session, player.id, "public")
    log.info("demo wishlist and cart loaded", player=DEMO_PLAYER)
