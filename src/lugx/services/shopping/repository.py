"""Every query of the shopping service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.events._sql import insert_with_conflicts, rowcount
from lugx.services.shopping.models import (
    Cart,
    CartItem,
    Checkout,
    Coupon,
    CouponUse,
    KnownPrice,
    Wishlist,
    WishlistItem,
)

# --- carts ----------------------------------------------------------------------------------


async def cart_of(session: AsyncSession, user_id: uuid.UUID) -> Cart | None:
    return (await session.execute(select(Cart).where(Cart.user_id == user_id))).scalar_one_or_none()


async def ensure_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart:
    """The user's cart, made on first use; two first uses at once make one cart."""
    await session.execute(
        insert_with_conflicts(session.get_bind().dialect.name, cast(Table, Cart.__table__))
        .values(id=uuid.uuid4(), user_id=user_id)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    cart = await cart_of(session, user_id)
    assert cart is not None
    return cart


async def cart_items(session: AsyncSession, cart_id: uuid.UUID) -> list[CartItem]:
    result = await session.execute(
        select(CartItem).where(CartItem.cart_id == cart_id).order_by(CartItem.added_at, CartItem.id)
    )
    return list(result.scalars())


async def cart_item(session: AsyncSession, cart_id: uuid.UUID, app_id: int) -> CartItem | None:
    result = await session.execute(
        select(CartItem).where(CartItem.cart_id == cart_id, CartItem.app_id == app_id)
    )
    return result.scalar_one_or_none()


async def count_cart_items(session: AsyncSession, cart_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(CartItem.cart_id == cart_id)) or 0)


async def remove_bought(
    session: AsyncSession, cart_id: uuid.UUID, lines: Sequence[tuple[int, uuid.UUID | None]]
) -> list[int]:
    """Delete the cart lines an order bought (same app, same recipient); their app_ids."""
    removed: list[int] = []
    for app_id, recipient_id in lines:
        same_recipient = (
            CartItem.recipient_id.is_(None)
            if recipient_id is None
            else CartItem.recipient_id == recipient_id
        )
        result = await session.execute(
            delete(CartItem).where(
                CartItem.cart_id == cart_id, CartItem.app_id == app_id, same_recipient
            )
        )
        if rowcount(result):
            removed.append(app_id)
    return removed


async def mark_checkout(
    session: AsyncSession, user_id: uuid.UUID, order_id: uuid.UUID, now: datetime, stale: datetime
) -> bool:
    """Take the cart's one checkout slot for this order, atomically: free, or held by a
    checkout started before `stale` (its order never came to anything)."""
    result = await session.execute(
        update(Cart)
        .where(
            Cart.user_id == user_id,
            or_(Cart.checkout_order_id.is_(None), Cart.checkout_started_at < stale),
        )
        .values(checkout_order_id=order_id, checkout_started_at=now)
    )
    return rowcount(result) == 1


async def unmark_checkout(session: AsyncSession, user_id: uuid.UUID, order_id: uuid.UUID) -> None:
    await session.execute(
        update(Cart)
        .where(Cart.user_id == user_id, Cart.checkout_order_id == order_id)
        .values(checkout_order_id=None, checkout_started_at=None)
    )


async def checkout(session: AsyncSession, order_id: uuid.UUID) -> Checkout | None:
    return await session.get(Checkout, order_id)


# --- coupons --------------------------------------------------------------------------------


async def coupon_by_code(session: AsyncSession, code: str) -> Coupon | None:
    result = await session.execute(select(Coupon).where(Coupon.code_key == code.upper()))
    return result.scalar_one_or_none()


async def coupon_by_id(session: AsyncSession, coupon_id: uuid.UUID) -> Coupon | None:
    return await session.get(Coupon, coupon_id)


async def coupons_page(
    session: AsyncSession,
    created_by: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Coupon]:
    """Newest first; `created_by` None means everybody's (admins)."""
    query = select(Coupon).order_by(Coupon.created_at.desc(), Coupon.id.desc()).limit(limit)
    if created_by is not None:
        query = query.where(Coupon.created_by == created_by)
    if after is not None:
        query = query.where(
            or_(
                Coupon.created_at < after[0],
                and_(Coupon.created_at == after[0], Coupon.id < after[1]),
            )
        )
    return list((await session.execute(query)).scalars())


async def user_uses(session: AsyncSession, coupon_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """This user's uses of a coupon that count: reserved or confirmed."""
    return int(
        await session.scalar(
            select(func.count()).where(
                CouponUse.coupon_id == coupon_id,
                CouponUse.user_id == user_id,
                CouponUse.status.in_(("reserved", "confirmed")),
            )
        )
        or 0
    )


async def take_use(session: AsyncSession, coupon_id: uuid.UUID) -> bool:
    """Count one more use if the global limit allows: one conditional UPDATE, so concurrent
    checkouts cannot both take the last use (a row lock on PostgreSQL, the one writer on
    SQLite)."""
    result = await session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.active.is_(True),
            or_(Coupon.max_uses.is_(None), Coupon.uses < Coupon.max_uses),
        )
        .values(uses=Coupon.uses + 1)
    )
    return rowcount(result) == 1


async def give_back_use(session: AsyncSession, coupon_id: uuid.UUID) -> None:
    await session.execute(
        update(Coupon).where(Coupon.id == coupon_id, Coupon.uses > 0).values(uses=Coupon.uses - 1)
    )


async def uses_of_order(session: AsyncSession, order_id: uuid.UUID) -> list[CouponUse]:
    result = await session.execute(select(CouponUse).where(CouponUse.order_id == order_id))
    return list(result.scalars())


# --- wishlists ------------------------------------------------------------------------------


async def wishlist_of(session: AsyncSession, user_id: uuid.UUID) -> Wishlist | None:
    return await session.get(Wishlist, user_id)


async def wishlist_items(
    session: AsyncSession, user_id: uuid.UUID, after: tuple[int, int] | None, limit: int
) -> list[WishlistItem]:
    query = (
        select(WishlistItem)
        .where(WishlistItem.user_id == user_id)
        .order_by(WishlistItem.priority, WishlistItem.app_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            or_(
                WishlistItem.priority > after[0],
                and_(WishlistItem.priority == after[0], WishlistItem.app_id > after[1]),
            )
        )
    return list((await session.execute(query)).scalars())


async def all_wishlist_items(session: AsyncSession, user_id: uuid.UUID) -> list[WishlistItem]:
    result = await session.execute(
        select(WishlistItem)
        .where(WishlistItem.user_id == user_id)
        .order_by(WishlistItem.priority, WishlistItem.app_id)
    )
    return list(result.scalars())


async def wishlist_item(
    session: AsyncSession, user_id: uuid.UUID, app_id: int
) -> WishlistItem | None:
    result = await session.execute(
        select(WishlistItem).where(WishlistItem.user_id == user_id, WishlistItem.app_id == app_id)
    )
    return result.scalar_one_or_none()


async def count_wishlist(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(select(func.count()).where(WishlistItem.user_id == user_id)) or 0
    )


async def wishers_of(session: AsyncSession, app_id: int) -> list[WishlistItem]:
    result = await session.execute(
        select(WishlistItem).where(WishlistItem.app_id == app_id).order_by(WishlistItem.user_id)
    )
    return list(result.scalars())


# --- the price read model -------------------------------------------------------------------


async def known_price(session: AsyncSession, app_id: int) -> KnownPrice | None:
    return await session.get(KnownPrice, app_id)
