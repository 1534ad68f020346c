"""The rules of wishlists: adding, ordering, visibility, and price alerts on wished-for games.
Functions take the request's session and flush; they never commit. The two that must ask other
services first (`add`, `set_alert`) open their own short write after asking (on SQLite a write
holds the service's one writer, which must never wait on another service)."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.errors import Conflict, NotFound, ValidationFailed
from lugx.platform.service import ServiceContext
from lugx.services.catalog.schemas import Sellable
from lugx.services.shopping import lookups
from lugx.services.shopping import repository as repo
from lugx.services.shopping.models import Wishlist, WishlistItem
from lugx.services.shopping.pricing import usd
from lugx.services.shopping.schemas import (
    PriceAlert,
    Visibility,
    WishlistItemAdd,
    WishlistLine,
    WishlistRead,
)

MAX_WISHLIST_ITEMS = 2000


async def settings_of(session: AsyncSession, user_id: uuid.UUID) -> WishlistRead:
    wishlist = await repo.wishlist_of(session, user_id)
    visibility: Visibility = "public" if wishlist and wishlist.visibility == "public" else "private"
    return WishlistRead(
        user_id=user_id, visibility=visibility, count=await repo.count_wishlist(session, user_id)
    )


async def set_visibility(session: AsyncSession, user_id: uuid.UUID, visibility: str) -> None:
    wishlist = await repo.wishlist_of(session, user_id)
    if wishlist is None:
        session.add(Wishlist(user_id=user_id, visibility=visibility))
    else:
        wishlist.visibility = visibility
    await session.flush()


async def visible_wishlist(
    session: AsyncSession, owner_id: uuid.UUID, viewer_id: uuid.UUID | None
) -> None:
    """Someone else's wishlist is seen only when public; a private one is not found."""
    if viewer_id == owner_id:
        return
    wishlist = await repo.wishlist_of(session, owner_id)
    if wishlist is None or wishlist.visibility != "public":
        raise NotFound("No public wishlist for that user", code="wishlist-not-found")


async def lines(ctx: ServiceContext, items: list[WishlistItem]) -> list[WishlistLine]:
    """Wishlist lines with the catalog's price now (null once no longer for sale)."""
    prices = await lookups.for_sale_now(ctx, [item.app_id for item in items])
    return [line_of(item, prices.get(item.app_id)) for item in items]


def line_of(item: WishlistItem, price: Sellable | None) -> WishlistLine:
    return WishlistLine(
        app_id=item.app_id,
        title=item.title,
        type=item.type,
        header_image=item.header_image,
        priority=item.priority,
        added_at=item.added_at,
        price=price.price if price else None,
        final_price=price.final_price if price else None,
        discount_percent=price.discount_percent if price else 0,
        alert_target=usd(item.alert_target) if item.alert_target is not None else None,
    )


async def add(ctx: ServiceContext, user_id: uuid.UUID, body: WishlistItemAdd) -> WishlistLine:
    """Wish for a game for sale. The catalog and purchases are asked first, then one short
    write (which holds the service's one writer on SQLite: it must not wait on others)."""
    game = lookups.for_sale(await lookups.sellables(ctx, [body.app_id]), body.app_id)
    owned = game.app_id in await lookups.owned(ctx, user_id, [game.app_id])
    async with ctx.db.session() as session:
        item = await _wish(session, user_id, body, game, owned)
    return line_of(item, game)


async def _wish(
    session: AsyncSession, user_id: uuid.UUID, body: WishlistItemAdd, game: Sellable, owned: bool
) -> WishlistItem:
    if await repo.wishlist_item(session, user_id, game.app_id) is not None:
        raise Conflict(f"{game.title} is on your wishlist already", code="already-wishlisted")
    count = await repo.count_wishlist(session, user_id)
    if count >= MAX_WISHLIST_ITEMS:
        raise Conflict(f"A wishlist holds at most {MAX_WISHLIST_ITEMS} games", code="wishlist-full")
    if owned:
        raise Conflict(f"You own {game.title} already", code="already-owned")
    priority = min(body.priority or count + 1, count + 1)
    # Make room: everything at or below the new place moves down one.
    await session.execute(
        update(WishlistItem)
        .where(WishlistItem.user_id == user_id, WishlistItem.priority >= priority)
        .values(priority=WishlistItem.priority + 1)
    )
    item = WishlistItem(
        user_id=user_id,
        app_id=game.app_id,
        priority=priority,
        title=game.title,
        type=game.type,
        header_image=game.header_image,
    )
    session.add(item)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            f"{game.title} is on your wishlist already", code="already-wishlisted"
        ) from None
    return item


async def remove(session: AsyncSession, user_id: uuid.UUID, app_id: int) -> None:
    item = await repo.wishlist_item(session, user_id, app_id)
    if item is None:
        raise NotFound(f"app_id {app_id} is not on your wishlist", code="not-wishlisted")
    await session.delete(item)
    await session.execute(
        update(WishlistItem)
        .where(WishlistItem.user_id == user_id, WishlistItem.priority > item.priority)
        .values(priority=WishlistItem.priority - 1)
    )
    await session.flush()


async def reorder(session: AsyncSession, user_id: uuid.UUID, app_ids: list[int]) -> None:
    """The whole list in its new order: exactly the wishlisted apps, each once."""
    items = {item.app_id: item for item in await repo.all_wishlist_items(session, user_id)}
    if len(set(app_ids)) != len(app_ids) or set(app_ids) != set(items):
        raise ValidationFailed(
            "Send every wishlisted app_id exactly once, in the new order",
            errors=[{"field": "app_ids", "message": "not the wishlist's apps"}],
        )
    for place, app_id in enumerate(app_ids, start=1):
        items[app_id].priority = place
    await session.flush()


async def set_alert(
    ctx: ServiceContext, user_id: uuid.UUID, app_id: int, body: PriceAlert
) -> WishlistLine:
    """Alert when the final price falls to the target or below: it must be below now. The
    price is asked first, then one short write."""
    price = (await lookups.for_sale_now(ctx, [app_id])).get(app_id)
    async with ctx.db.session() as session:
        # Locked, as a firing alert locks it: its "fired" is read and cleared, not missed.
        item = await repo.wishlist_item(session, user_id, app_id, locked=True)
        if item is None:
            raise NotFound(f"app_id {app_id} is not on your wishlist", code="not-wishlisted")
        if price is None:
            raise NotFound(f"No game with app_id {app_id} is for sale", code="game-not-found")
        if body.target_price.amount >= price.final_price.amount:
            raise Conflict(
                f"The target must be below the price now ({price.final_price.amount} cents)",
                code="target-not-below-price",
            )
        item.alert_target = body.target_price.amount
        item.alert_fired_at = None
        await session.flush()
    return line_of(item, price)


async def clear_alert(session: AsyncSession, user_id: uuid.UUID, app_id: int) -> None:
    item = await repo.wishlist_item(session, user_id, app_id, locked=True)
    if item is None or item.alert_target is None:
        raise NotFound(f"No price alert on app_id {app_id}", code="no-alert")
    item.alert_target = None
    item.alert_fired_at = None
    await session.flush()
