"""Every query of the shopping service."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    BindParameter,
    ColumnElement,
    Delete,
    Integer,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.prepared import detached_row, mark_detached, model_columns, prepared
from lugx.platform.db.sql import insert_with_conflicts, new_row_values, rowcount
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


_CART_COLUMNS, _ITEM_COLUMNS = model_columns(Cart), model_columns(CartItem)
_ITEM_ID = [column.name for column in _ITEM_COLUMNS].index("id")
_CARTS, _ITEMS = cast(Table, Cart.__table__), cast(Table, CartItem.__table__)
# Built once and prepared: a cart is read on every cart request and at checkout. The user's
# cart with each of its lines, in the order they were added (one row with no line for an empty
# cart, none for no cart), as plain columns: the carts' and then the lines'.
_CART_ROWS = (
    select(*_CART_COLUMNS, *_ITEM_COLUMNS)
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)  # both tables have an `id`
    .select_from(_CARTS.outerjoin(_ITEMS, _ITEMS.c.cart_id == _CARTS.c.id))
    .where(_CARTS.c.user_id == bindparam("user_id"))
    .order_by(_ITEMS.c.added_at, _ITEMS.c.id)
)
# The same, and whether an order's checkout is recorded.
_CART_ROWS_AND_RECORDED = prepared(
    _CART_ROWS.add_columns(
        select(Checkout.order_id).where(Checkout.order_id == bindparam("order_id")).exists()
    )
)
_CART_ROWS = prepared(_CART_ROWS)


def _cart_and_lines(rows: Sequence[Sequence[Any]]) -> tuple[Cart | None, list[CartItem]]:
    """The cart and its lines, as objects of no session (detached, as if read by a session that
    has closed)."""
    if not rows:
        return None, []
    cart_end = len(_CART_COLUMNS)
    item_end = cart_end + len(_ITEM_COLUMNS)
    cart = detached_row(Cart, rows[0][:cart_end])
    items = [
        detached_row(CartItem, row[cart_end:item_end])
        for row in rows
        if row[cart_end + _ITEM_ID] is not None  # an empty cart's one row has no line
    ]
    return cart, items


async def cart_with_items(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[Cart | None, list[CartItem]]:
    """The user's cart (None: never made) and its lines, in one query: objects of no session,
    to read (`set_coupon` changes the cart's coupon)."""
    rows = (await session.execute(_CART_ROWS, {"user_id": user_id})).all()
    return _cart_and_lines([tuple(row) for row in rows])


async def cart_for_checkout(
    session: AsyncSession, user_id: uuid.UUID, order_id: uuid.UUID
) -> tuple[Cart | None, list[CartItem], bool]:
    """`cart_with_items`, and whether this order's checkout is recorded already (a retry):
    still one query. Without a cart, that last is False whatever the truth."""
    params = {"user_id": user_id, "order_id": order_id}
    rows = [tuple(row) for row in (await session.execute(_CART_ROWS_AND_RECORDED, params)).all()]
    cart, items = _cart_and_lines(rows)
    return cart, items, bool(rows and rows[0][-1])


# A line into a cart that has room for it: one statement, which counts the lines and inserts
# (on SQLite under the service's write lock, so the limit holds however many adds race).
_LINE_IF_ROOM = prepared(
    insert(_ITEMS).from_select(
        [column.name for column in _ITEMS.c],
        select(*[bindparam(column.name, type_=column.type) for column in _ITEMS.c]).where(
            select(func.count())
            .select_from(_ITEMS)
            .where(_ITEMS.c.cart_id == bindparam("cart_id"))
            .scalar_subquery()
            < bindparam("room", type_=Integer)
        ),
    )
)


async def add_line_if_room(session: AsyncSession, line: CartItem, room: int) -> bool:
    """Insert `line` (defaults filled in, on it too) if its cart holds fewer than `room` lines;
    False if it is full. IntegrityError if the cart has a line for the app already."""
    _, values = new_row_values(line)
    if rowcount(await session.execute(_LINE_IF_ROOM, {**values, "room": room})) != 1:
        return False
    mark_detached(line)
    return True


async def set_coupon(session: AsyncSession, cart: Cart, code: str | None) -> None:
    """Keep `code` on the cart (None: none), and on the object read."""
    await session.execute(_SET_COUPON, {"cart": cart.id, "code": code})
    cart.coupon_code = code


_SET_COUPON = prepared(
    update(_CARTS).where(_CARTS.c.id == bindparam("cart")).values(coupon_code=bindparam("code"))
)


async def remove_line(session: AsyncSession, user_id: uuid.UUID, app_id: int) -> bool:
    """Delete the app's line from the user's cart; False when there was none."""
    cart_id = select(Cart.id).where(Cart.user_id == user_id).scalar_subquery()
    result = await session.execute(
        delete(CartItem)
        .where(CartItem.cart_id == cart_id, CartItem.app_id == app_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


Lines = Sequence[tuple[int, uuid.UUID | None]]  # (app_id, recipient_id or None: the buyer)


Shape = tuple[int, bool]  # how many gift lines, and whether any line is for the buyer


def _bound(lines: Lines) -> tuple[Shape, dict[str, Any]]:
    """What the statements over these lines are built for (they are cached per shape) and the
    values to bind to them on this call."""
    own = [app_id for app_id, recipient_id in lines if recipient_id is None]
    gifts = [(app_id, to) for app_id, to in lines if to is not None]
    params: dict[str, Any] = {"own_apps": own}
    for i, (app_id, recipient_id) in enumerate(gifts):
        params[f"gift_app_{i}"], params[f"gift_to_{i}"] = app_id, recipient_id
    return (len(gifts), bool(own)), params


@functools.cache
def _any_of(shape: Shape) -> ColumnElement[bool]:
    """A cart line that is one of these (same app, same recipient)."""
    gifts, for_self = shape
    same = [
        and_(
            CartItem.app_id == bindparam(f"gift_app_{i}"),
            CartItem.recipient_id == bindparam(f"gift_to_{i}"),
        )
        for i in range(gifts)
    ]
    if for_self:
        own = CartItem.app_id.in_(bindparam("own_apps", expanding=True))
        same.append(and_(CartItem.recipient_id.is_(None), own))
    return or_(false(), *same)


async def remove_bought(session: AsyncSession, user_id: uuid.UUID, lines: Lines) -> None:
    """Delete from the user's cart the lines an order bought: one statement for them all."""
    if not lines:
        return
    shape, params = _bound(lines)
    await session.execute(_remove_bought(shape), {"user_id": user_id, **params})


@functools.cache
def _remove_bought(shape: Shape) -> Delete:
    cart_id = select(Cart.id).where(Cart.user_id == bindparam("user_id")).scalar_subquery()
    return prepared(
        delete(CartItem)
        .where(CartItem.cart_id == cart_id, _any_of(shape))
        .execution_options(synchronize_session=False)
    )


async def mark_checkout(
    session: AsyncSession,
    user_id: uuid.UUID,
    order_id: uuid.UUID,
    now: datetime,
    stale: datetime,
    *,
    lines: Lines,
    coupon_code: str | None,
) -> bool:
    """Take the cart's one checkout slot for this order, atomically, if the cart is still as it
    was priced (exactly these lines, this coupon): the slot free, or held by a checkout started
    before `stale` (its order never came to anything). One conditional UPDATE: False when the
    slot is taken or the cart changed (`cart_with_items` tells which)."""
    shape, params = _bound(lines)
    params |= {
        "buyer": user_id,  # not "user_id": an UPDATE keeps its columns' names for itself
        "order_id": order_id,
        "now": now,
        "stale": stale,
        "coupon": coupon_code,
        "lines": len(lines),
    }
    statement = _mark_checkout(shape, coupon_code is None)
    return rowcount(await session.execute(statement, params)) == 1


@functools.cache
def _mark_checkout(shape: Shape, no_coupon: bool) -> Update:
    """Built once per shape of order (gift lines, own lines, a coupon or none)."""
    in_cart = CartItem.cart_id == Cart.id
    every_line = select(func.count()).where(in_cart).scalar_subquery()
    priced_lines = select(func.count()).where(in_cart, _any_of(shape)).scalar_subquery()
    return prepared(
        update(Cart)
        .where(
            Cart.user_id == bindparam("buyer"),
            or_(Cart.checkout_order_id.is_(None), Cart.checkout_started_at < bindparam("stale")),
            Cart.coupon_code.is_(None) if no_coupon else Cart.coupon_code == bindparam("coupon"),
            every_line == bindparam("lines"),
            priced_lines == bindparam("lines"),  # one line per app in a cart: the same lines
        )
        .values(checkout_order_id=bindparam("order_id"), checkout_started_at=bindparam("now"))
        .execution_options(synchronize_session=False)
    )


async def unmark_checkout(session: AsyncSession, user_id: uuid.UUID, order_id: uuid.UUID) -> None:
    await session.execute(_UNMARK, {"buyer": user_id, "order": order_id})


# Built once, as the settle statements below: every paid order runs both.
_UNMARK = prepared(
    update(Cart)
    .where(Cart.user_id == bindparam("buyer"), Cart.checkout_order_id == bindparam("order"))
    .values(checkout_order_id=None, checkout_started_at=None)
    .execution_options(synchronize_session=False)  # no cart object is read where it runs
)


async def checkout(session: AsyncSession, order_id: uuid.UUID) -> Checkout | None:
    return await session.get(Checkout, order_id)


async def settle_checkout(
    session: AsyncSession,
    order_id: uuid.UUID,
    user_id: uuid.UUID,
    status: str,
    now: datetime,
    *,
    record_unknown: bool,
) -> dict[str, Any] | None:
    """Mark the order's checkout `status` if it is still open, in one statement: its frozen
    snapshot then, None when it was settled already (or never frozen here). `record_unknown`:
    an order never frozen here is recorded as settled now (snapshot `{}`), so news of it is
    acted on once. Concurrent settles of one order: one gets the snapshot (a row lock on
    PostgreSQL, the one writer on SQLite)."""
    statement = _settle_statement(session.get_bind().dialect.name, record_unknown)
    values = {"order": order_id, "buyer": user_id, "new_status": status, "at": now}
    snapshot = (await session.execute(statement, values)).scalar_one_or_none()
    return cast("dict[str, Any] | None", snapshot)


@functools.cache
def _settle_statement(dialect: str, record_unknown: bool) -> Any:
    """settle_checkout's statement, built once per dialect and kind; values bound per call."""
    table = cast(Table, Checkout.__table__)
    open_ = table.c.status == "open"
    status: BindParameter[str] = bindparam("new_status")
    at: BindParameter[datetime] = bindparam("at")
    if not record_unknown:
        return prepared(
            update(table)
            .where(table.c.order_id == bindparam("order"), open_)
            .values(status=status, settled_at=at)
            .returning(table.c.snapshot)
        )
    return prepared(
        insert_with_conflicts(dialect, table)
        .values(
            order_id=bindparam("order"),
            user_id=bindparam("buyer"),
            snapshot={},
            status=status,
            created_at=at,
            settled_at=at,
        )
        .on_conflict_do_update(
            index_elements=["order_id"], set_={"status": status, "settled_at": at}, where=open_
        )
        .returning(table.c.snapshot)
    )


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


COUNTED_USES = ("reserved", "confirmed")


async def coupon_and_uses(
    session: AsyncSession, code: str, user_id: uuid.UUID
) -> tuple[Coupon, int] | None:
    """The coupon of this code (any case) and how many of its uses by this user count (reserved
    or confirmed), in one query; None when no coupon has the code."""
    uses = (
        select(func.count())
        .select_from(CouponUse)
        .where(
            CouponUse.coupon_id == Coupon.id,
            CouponUse.user_id == user_id,
            CouponUse.status.in_(COUNTED_USES),
        )
        .scalar_subquery()
    )
    row = (
        await session.execute(select(Coupon, uses).where(Coupon.code_key == code.upper()))
    ).first()
    return (row[0], int(row[1] or 0)) if row is not None else None


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
    session: AsyncSession, user_id: uuid.UUID, app_id: int, *, locked: bool = False
) -> WishlistItem | None:
    """`locked`: until the transaction ends (a price alert being checked meanwhile finishes
    first, and what it wrote is what this reads)."""
    query = select(WishlistItem).where(
        WishlistItem.user_id == user_id, WishlistItem.app_id == app_id
    )
    result = await session.execute(query.with_for_update() if locked else query)
    return result.scalar_one_or_none()


async def count_wishlist(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(select(func.count()).where(WishlistItem.user_id == user_id)) or 0
    )


async def wishers_of(
    session: AsyncSession, app_id: int, *, locked: bool = False
) -> list[WishlistItem]:
    """`locked`: read again and locked until the transaction ends, so a player changing an
    alert meanwhile waits, and is not written over (PostgreSQL; SQLite has one writer)."""
    query = select(WishlistItem).where(WishlistItem.app_id == app_id).order_by(WishlistItem.user_id)
    if locked:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


# --- the price read model -------------------------------------------------------------------


async def known_price(
    session: AsyncSession, app_id: int, *, locked: bool = False
) -> KnownPrice | None:
    """`locked`: read again (not from the session's identity map) and locked until the
    transaction ends, so two price events about one app apply one after the other
    (PostgreSQL; SQLite's one writer already serialises them)."""
    if not locked:
        return await session.get(KnownPrice, app_id)
    return await session.get(KnownPrice, app_id, with_for_update=True, populate_existing=True)
