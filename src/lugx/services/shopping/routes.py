"""HTTP endpoints of the shopping service: the caller's cart and wishlist, others' public
wishlists, coupons. The user is always the verified token's; no endpoint takes a user id to act
on (a public wishlist is only read)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from lugx.platform.auth import CurrentUser, OptionalUser
from lugx.platform.db import DbSession, utcnow
from lugx.platform.listing import Ctx, cursor_key, keyset_page
from lugx.platform.pagination import Cursor, Limit, Page
from lugx.platform.service import ServiceContext
from lugx.services.shopping import repository as repo
from lugx.services.shopping import service, wishlist
from lugx.services.shopping.models import Coupon, WishlistItem
from lugx.services.shopping.pricing import usd
from lugx.services.shopping.schemas import (
    CartItemAdd,
    CartRead,
    CouponApply,
    CouponCreate,
    CouponRead,
    CouponUpdate,
    PriceAlert,
    WishlistItemAdd,
    WishlistLine,
    WishlistOrder,
    WishlistRead,
    WishlistSettings,
)

PREFIX = "/api/v1/shopping"
router = APIRouter(prefix=PREFIX, tags=["shopping"])

AppIdPath = Annotated[int, Path(ge=1, le=2_000_000_000)]


# --- cart -----------------------------------------------------------------------------------


@router.get("/cart", response_model=CartRead)
async def get_cart(ctx: Ctx, principal: CurrentUser, session: DbSession) -> CartRead:
    """The caller's cart, priced by the catalog now, with its coupon applied if it applies."""
    return await service.view_cart(session, ctx, principal.user_id, utcnow())


@router.post("/cart/items", status_code=status.HTTP_201_CREATED, response_model=CartRead)
async def add_to_cart(body: CartItemAdd, ctx: Ctx, principal: CurrentUser) -> CartRead:
    """Add a game (for yourself, or as a gift with `gift_for`). A price in the body is
    ignored. A game already in the cart is a 409."""
    return await service.add_to_cart(ctx, principal, body, utcnow())


@router.delete("/cart/items/{app_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_from_cart(app_id: AppIdPath, principal: CurrentUser, session: DbSession) -> None:
    await service.remove_item(session, principal.user_id, app_id)


@router.post("/cart/coupon", response_model=CartRead)
async def apply_coupon(body: CouponApply, ctx: Ctx, principal: CurrentUser) -> CartRead:
    return await service.apply_code(ctx, principal.user_id, body.code, utcnow())


@router.delete("/cart/coupon", status_code=status.HTTP_204_NO_CONTENT)
async def remove_coupon(principal: CurrentUser, session: DbSession) -> None:
    await service.remove_code(session, principal.user_id)


# --- wishlist -------------------------------------------------------------------------------


def _priority_and_app(key: Mapping[str, Any]) -> tuple[int, int]:
    return int(key.get("p", 0)), int(key.get("a", 0))


async def _wishlist_page(
    ctx: ServiceContext, session: DbSession, user_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[WishlistLine]:
    after = cursor_key(ctx.secret_key, cursor, _priority_and_app)
    items = await repo.wishlist_items(session, user_id, after, limit + 1)  # one more: a next?
    lines = await wishlist.lines(ctx, items[:limit])
    page = keyset_page(ctx.secret_key, items, limit, lambda item: item, _wishlist_key)
    return Page(items=lines, next_cursor=page.next_cursor)


def _wishlist_key(item: WishlistItem) -> dict[str, Any]:
    return {"p": item.priority, "a": item.app_id}


@router.get("/wishlist", response_model=WishlistRead)
async def my_wishlist(principal: CurrentUser, session: DbSession) -> WishlistRead:
    return await wishlist.settings_of(session, principal.user_id)


@router.patch("/wishlist", response_model=WishlistRead)
async def wishlist_settings(
    body: WishlistSettings, principal: CurrentUser, session: DbSession
) -> WishlistRead:
    """Make the wishlist `public` (anyone may see it) or `private` (the default)."""
    await wishlist.set_visibility(session, principal.user_id, body.visibility)
    return await wishlist.settings_of(session, principal.user_id)


@router.get("/wishlist/items", response_model=Page[WishlistLine])
async def wishlist_items(
    ctx: Ctx,
    principal: CurrentUser,
    session: DbSession,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WishlistLine]:
    """The caller's wishlist, most wanted first, with the catalog's prices now."""
    return await _wishlist_page(ctx, session, principal.user_id, limit, cursor)


@router.post(
    "/wishlist/items", status_code=status.HTTP_201_CREATED, response_model=list[WishlistLine]
)
async def add_to_wishlist(
    body: WishlistItemAdd, ctx: Ctx, principal: CurrentUser
) -> list[WishlistLine]:
    return [await wishlist.add(ctx, principal.user_id, body)]


@router.delete("/wishlist/items/{app_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_from_wishlist(
    app_id: AppIdPath, principal: CurrentUser, session: DbSession
) -> None:
    await wishlist.remove(session, principal.user_id, app_id)


@router.put("/wishlist/order", status_code=status.HTTP_204_NO_CONTENT)
async def reorder_wishlist(body: WishlistOrder, principal: CurrentUser, session: DbSession) -> None:
    """Every wishlisted app_id once, most wanted first."""
    await wishlist.reorder(session, principal.user_id, body.app_ids)


@router.put("/wishlist/items/{app_id}/alert", response_model=list[WishlistLine])
async def set_price_alert(
    app_id: AppIdPath,
    body: PriceAlert,
    ctx: Ctx,
    principal: CurrentUser,
) -> list[WishlistLine]:
    """Be told (`PriceAlertTriggered`) when the final price falls to `target_price` or below.
    The target is in USD and must be below the price now."""
    return [await wishlist.set_alert(ctx, principal.user_id, app_id, body)]


@router.delete("/wishlist/items/{app_id}/alert", status_code=status.HTTP_204_NO_CONTENT)
async def clear_price_alert(app_id: AppIdPath, principal: CurrentUser, session: DbSession) -> None:
    await wishlist.clear_alert(session, principal.user_id, app_id)


@router.get("/users/{user_id}/wishlist", response_model=Page[WishlistLine])
async def users_wishlist(
    user_id: uuid.UUID,
    ctx: Ctx,
    viewer: OptionalUser,
    session: DbSession,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WishlistLine]:
    """Someone's wishlist: public ones to anyone, a private one only to its owner (404 to
    everyone else)."""
    await wishlist.visible_wishlist(session, user_id, viewer.user_id if viewer else None)
    return await _wishlist_page(ctx, session, user_id, limit, cursor)


# --- coupons --------------------------------------------------------------------------------


def coupon_read(coupon: Coupon) -> CouponRead:
    return CouponRead(
        id=coupon.id,
        code=coupon.code,
        percent=coupon.percent,
        amount=usd(coupon.amount) if coupon.amount is not None else None,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        app_ids=list(coupon.app_ids),
        min_subtotal=usd(coupon.min_subtotal),
        max_uses=coupon.max_uses,
        max_uses_per_user=coupon.max_uses_per_user,
        uses=coupon.uses,
        active=coupon.active,
        created_by=coupon.created_by,
        created_at=coupon.created_at,
    )


@router.post("/coupons", status_code=status.HTTP_201_CREATED, response_model=CouponRead)
async def create_coupon(body: CouponCreate, ctx: Ctx, principal: CurrentUser) -> CouponRead:
    """Admins: for any games (or all, with no app_ids). Publishers: only for their own games."""
    coupon = await service.create_coupon(ctx, principal, body, utcnow())
    return coupon_read(coupon)


@router.get("/coupons", response_model=Page[CouponRead])
async def list_coupons(
    ctx: Ctx,
    principal: CurrentUser,
    session: DbSession,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[CouponRead]:
    """The coupons the caller made; every coupon for admins. Newest first."""
    secret = ctx.secret_key
    after = cursor_key(secret, cursor, _time_and_id)
    mine = None if principal.is_admin else principal.user_id
    coupons = await repo.coupons_page(session, mine, after, limit + 1)  # one more: a next page?
    return keyset_page(secret, coupons, limit, coupon_read, _coupon_key)


def _coupon_key(coupon: Coupon) -> dict[str, Any]:
    return {"t": coupon.created_at.isoformat(), "i": str(coupon.id)}


def _time_and_id(key: Mapping[str, Any]) -> tuple[datetime, uuid.UUID]:
    return datetime.fromisoformat(str(key.get("t"))), uuid.UUID(str(key.get("i")))


@router.patch("/coupons/{coupon_id}", response_model=CouponRead)
async def update_coupon(
    coupon_id: uuid.UUID, body: CouponUpdate, principal: CurrentUser, session: DbSession
) -> CouponRead:
    """Deactivate (or reactivate) a coupon. Uses already reserved stay valid."""
    coupon = await service.managed_coupon(session, principal, coupon_id)
    coupon.active = body.active
    await session.flush()
    return coupon_read(coupon)
