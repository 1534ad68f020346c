"""Every query of the purchases service."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    inspect,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from lugx.platform.db.prepared import detached, prepared
from lugx.platform.db.sql import insert_with_conflicts
from lugx.services.purchases.models import (
    Entitlement,
    Order,
    OrderLine,
    PlaySession,
    ProductKey,
    RefundRequest,
)

Keyset = tuple[datetime, uuid.UUID]


# --- orders ---------------------------------------------------------------------------------


async def order(
    session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False, lines: bool = False
) -> Order | None:
    """The order; `lines`: with its lines, joined in the same statement (else `load_lines` when
    they turn out to be needed). `lock`: take the order's row for the rest of the transaction
    (PostgreSQL; SQLite's writers are serialised anyway), so two settlers of one order never
    both see it pending."""
    result = await session.execute(_order_query(lock, lines), {"order_id": order_id})
    found: Order | None = (result.unique() if lines else result).scalar_one_or_none()
    return found


@functools.cache
def _order_query(lock: bool, lines: bool) -> Select[Order]:
    """Built once: a statement costs more to build than to run."""
    query = select(Order).where(Order.id == bindparam("order_id"))
    if lines:
        query = query.options(joinedload(Order.lines))
    if lock:
        query = query.with_for_update(of=Order)  # not the lines' side of the outer join
    return query


async def locked_order(
    session: AsyncSession, order_id: uuid.UUID, *, lines: bool = False
) -> Order | None:
    """The order to change, as `order(lock=True)` reads it, but as an object of no session
    (prepared statements, no ORM session): its changes are written with `save_changes`.
    `lines`: with its lines (a second statement)."""
    row = (await session.execute(_LOCKED_ORDER, {"order_id": order_id})).one_or_none()
    if row is None:
        return None
    found = detached(Order, row)
    if lines:
        rows = await session.execute(_LINE_ROWS, {"order_id": order_id})
        set_committed_value(found, "lines", [detached(OrderLine, line) for line in rows])
    return found


_LOCKED_ORDER = prepared(
    select(*cast(Table, Order.__table__).c)
    .where(Order.id == bindparam("order_id"))
    .with_for_update()  # PostgreSQL; SQLite's writers are serialised anyway
)
_LINE_ROWS = prepared(
    select(*cast(Table, OrderLine.__table__).c)
    .where(OrderLine.order_id == bindparam("order_id"))
    .order_by(OrderLine.position)
)


async def load_lines(session: AsyncSession, order: Order) -> list[OrderLine]:
    """The order's lines, read now unless the order has them already."""
    if "lines" not in inspect(order).dict:
        found = await session.execute(_LINES, {"order_id": order.id})
        set_committed_value(order, "lines", list(found.scalars()))
    return order.lines


_LINES = (
    select(OrderLine)
    .where(OrderLine.order_id == bindparam("order_id"))
    .order_by(OrderLine.position)
)


async def order_id_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> uuid.UUID | None:
    result: uuid.UUID | None = await session.scalar(
        select(Order.id).where(Order.user_id == user_id, Order.idempotency_key == key)
    )
    return result


async def insert_order(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """IntegrityError when a unique key says no (see models.Order)."""
    await session.execute(_INSERT_ORDER, dict(values))


async def price_order(
    session: AsyncSession,
    order_id: uuid.UUID,
    *,
    subtotal: int,
    discount: int,
    total: int,
    coupon_code: str | None,
    now: datetime,
) -> Order | None:
    """Store the totals on an order still `pending` and unpriced, in one statement that also
    reads it back; None when it is not (the recovery loop failed it meanwhile)."""
    params = {
        "order_id": order_id,
        "p_subtotal": subtotal,
        "p_discount": discount,
        "p_total": total,
        "p_coupon_code": coupon_code,
        "p_now": now,
    }
    row = (await session.execute(_PRICE_ORDER, params)).one_or_none()
    return None if row is None else detached(Order, row)


async def insert_lines(session: AsyncSession, lines: Sequence[OrderLine]) -> None:
    """The order's lines, written as plain rows: the objects stay the caller's (see
    attach_lines), nothing reads them back."""
    rows = [{name: getattr(line, name) for name in _LINE_COLUMNS} for line in lines]
    await session.execute(_INSERT_LINES, rows)


# Statements built once: building one costs more than running it. Their values go as
# parameters (several rows: one multi-row INSERT).
_INSERT_ORDER = prepared(insert(cast(Table, Order.__table__)))
_INSERT_LINES = prepared(insert(cast(Table, OrderLine.__table__)))
_LINE_COLUMNS = tuple(column.name for column in cast(Table, OrderLine.__table__).columns)
_ORDERS = cast(Table, Order.__table__)
_PRICE_ORDER = prepared(
    update(_ORDERS)
    .where(
        _ORDERS.c.id == bindparam("order_id"),
        _ORDERS.c.status == "pending",
        _ORDERS.c.priced.is_(False),
    )
    .values(
        priced=True,
        subtotal=bindparam("p_subtotal"),
        discount=bindparam("p_discount"),
        total=bindparam("p_total"),
        coupon_code=bindparam("p_coupon_code"),
        updated_at=bindparam("p_now"),
    )
    .returning(*_ORDERS.c)
)


def attach_lines(order: Order, lines: Sequence[OrderLine]) -> None:
    """Give an order read without its lines the ones the caller holds (lines never change once
    stored), so they are not read again."""
    set_committed_value(order, "lines", list(lines))


async def delete_unpaid_order(session: AsyncSession, order_id: uuid.UUID) -> uuid.UUID | None:
    """Delete an order refused before any money moved (still pending, no charge); its buyer's id,
    or None when there is no such order any more."""
    result: uuid.UUID | None = await session.scalar(
        delete(Order)
        .where(Order.id == order_id, Order.status == "pending", Order.charge_id.is_(None))
        .returning(Order.user_id)
    )
    return result


async def orders_of(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, after: Keyset | None
) -> Sequence[Order]:
    query = select(Order).where(Order.user_id == user_id).options(selectinload(Order.lines))
    if after is not None:
        query = query.where(
            or_(
                Order.created_at < after[0],
                and_(Order.created_at == after[0], Order.id < after[1]),
            )
        )
    query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def stale_orders(
    session: AsyncSession, status: str, *, before: datetime, limit: int = 50
) -> Sequence[uuid.UUID]:
    """Ids of orders in `status` untouched since `before` (the recovery loop's work)."""
    column = Order.expires_at if status == "awaiting_payment" else Order.updated_at
    query = (
        select(Order.id)
        .where(Order.status == status, column < before)
        .order_by(column)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


# --- entitlements ---------------------------------------------------------------------------


async def entitlement(
    session: AsyncSession, user_id: uuid.UUID, app_id: int, *, lock: bool = False
) -> Entitlement | None:
    query = select(Entitlement).where(Entitlement.user_id == user_id, Entitlement.app_id == app_id)
    if lock:
        query = query.with_for_update()
    result: Entitlement | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def owned_by_each(
    session: AsyncSession, wanted: Mapping[uuid.UUID, Iterable[int]]
) -> set[tuple[uuid.UUID, int]]:
    """Which (user, app_id) pairs of `wanted` (app_ids per user) are owned now, in one query
    (it reads every asked user's asked apps, a few rows, and keeps the pairs wanted)."""
    apps = {user_id: set(app_ids) for user_id, app_ids in wanted.items()}
    if not apps:
        return set()
    params = {"users": list(apps), "apps": sorted(set().union(*apps.values()))}
    rows = await session.execute(_OWNED_BY_EACH, params)
    return {(user_id, app_id) for user_id, app_id in rows if app_id in apps.get(user_id, ())}


_OWNED_BY_EACH = prepared(
    select(Entitlement.user_id, Entitlement.app_id).where(
        Entitlement.user_id.in_(bindparam("users", expanding=True)),
        Entitlement.app_id.in_(bindparam("apps", expanding=True)),
        Entitlement.revoked_at.is_(None),
    )
)


async def grant_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Entitlement]:
    """Insert entitlements, or bring back revoked ones (keeping their playtime), in one
    statement; an active one is left as it is. Returns the rows granted now (as plain objects,
    not in the session). A concurrent grant of the same app (PostgreSQL) waits, then finds it
    active and leaves it."""
    if not rows:
        return []
    result = await session.execute(_grant_statement(session), list(rows))
    return [Entitlement(**row._mapping) for row in result]


_GRANTS: dict[str, Any] = {}


def _grant_statement(session: AsyncSession) -> Any:
    """Built once per dialect: the rows go as parameters, which SQLAlchemy sends as one
    multi-row INSERT without building a statement per call (that costs more than the INSERT)."""
    dialect = session.get_bind().dialect.name
    statement = _GRANTS.get(dialect)
    if statement is None:
        table = cast(Table, Entitlement.__table__)
        insert = insert_with_conflicts(dialect, table)
        restore = {
            name: insert.excluded[name]
            for name in ("title", "source", "order_id", "gifted_by", "acquired_at")
        }
        statement = _GRANTS[dialect] = prepared(
            insert.on_conflict_do_update(
                index_elements=[table.c.user_id, table.c.app_id],
                set_={**restore, "revoked_at": null()},  # a literal: no parameter outside VALUES
                where=table.c.revoked_at.is_not(None),
            ).returning(*table.c)
        )
    return statement


async def owned(
    session: AsyncSession, user_id: uuid.UUID, app_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    """The user's entitlements among these apps, revoked ones left out: app_id, source,
    playtime_minutes and acquired_at, as plain rows."""
    params = {"user_id": user_id, "apps": list(app_ids)}
    return cast("Sequence[Row[Any]]", (await session.execute(_OWNED, params)).all())


_OWNED = prepared(
    select(
        Entitlement.app_id,
        Entitlement.source,
        Entitlement.playtime_minutes,
        Entitlement.acquired_at,
    ).where(
        Entitlement.user_id == bindparam("user_id"),
        Entitlement.app_id.in_(bindparam("apps", expanding=True)),
        Entitlement.revoked_at.is_(None),
    )
)


async def library(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    """A page of the user's library, newest first: the columns it shows, as plain rows."""
    params: dict[str, Any] = {"user_id": user_id, "limit": limit}
    if after is not None:
        params["after_time"], params["after_id"] = after
    result = await session.execute(_library_query(after is not None), params)
    rows: Sequence[Row[Any]] = result.all()
    return rows


@functools.cache
def _library_query(after: bool) -> Select[Any]:
    """Built once (per first page / later page): a statement costs more to build than to run."""
    table = cast(Table, Entitlement.__table__)
    columns = [table.c[name] for name in _LIBRARY_COLUMNS]
    query = select(*columns).where(
        table.c.user_id == bindparam("user_id"), table.c.revoked_at.is_(None)
    )
    if after:
        time: BindParameter[Any] = bindparam("after_time")
        row_id: BindParameter[Any] = bindparam("after_id")
        query = query.where(
            or_(
                table.c.acquired_at < time,
                and_(table.c.acquired_at == time, table.c.id < row_id),
            )
        )
    order = (table.c.acquired_at.desc(), table.c.id.desc())
    return prepared(query.order_by(*order).limit(bindparam("limit")))


_LIBRARY_COLUMNS = (
    "id",
    "app_id",
    "title",
    "source",
    "acquired_at",
    "playtime_minutes",
    "last_played_at",
    "order_id",
    "gifted_by",
)


async def granted_by_order(session: AsyncSession, order_id: uuid.UUID) -> Sequence[Entitlement]:
    query = select(Entitlement).where(
        Entitlement.order_id == order_id, Entitlement.revoked_at.is_(None)
    )
    return (await session.execute(query)).scalars().all()


# --- playtime -------------------------------------------------------------------------------


async def overlapping_session(
    session: AsyncSession, user_id: uuid.UUID, app_id: int, start: datetime, end: datetime
) -> PlaySession | None:
    result: PlaySession | None = await session.scalar(
        select(PlaySession)
        .where(
            PlaySession.user_id == user_id,
            PlaySession.app_id == app_id,
            PlaySession.started_at < end,
            PlaySession.ended_at > start,
        )
        .limit(1)
    )
    return result


# --- keys -----------------------------------------------------------------------------------


async def key_by_hash(session: AsyncSession, key_hash: str) -> ProductKey | None:
    """Locked (PostgreSQL): two players typing the same key at once cannot both redeem it."""
    result: ProductKey | None = (
        await session.execute(
            select(ProductKey).where(ProductKey.key_hash == key_hash).with_for_update()
        )
    ).scalar_one_or_none()
    return result


# --- refunds --------------------------------------------------------------------------------


async def refund_request(
    session: AsyncSession, request_id: uuid.UUID, *, lock: bool = False
) -> RefundRequest | None:
    query = select(RefundRequest).where(RefundRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    result: RefundRequest | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def refund_of_order(session: AsyncSession, order_id: uuid.UUID) -> RefundRequest | None:
    result: RefundRequest | None = await session.scalar(
        select(RefundRequest).where(RefundRequest.order_id == order_id)
    )
    return result


async def refund_by_key(
    session: AsyncSession, user_id: uuid.UUID, key: str
) -> RefundRequest | None:
    result: RefundRequest | None = await session.scalar(
        select(RefundRequest).where(
            RefundRequest.user_id == user_id, RefundRequest.idempotency_key == key
        )
    )
    return result


async def refund_requests(
    session: AsyncSession, status: str | None, *, limit: int, after: Keyset | None
) -> Sequence[RefundRequest]:
    query = select(RefundRequest)
    if status is not None:
        query = query.where(RefundRequest.status == status)
    if after is not None:
        query = query.where(
            or_(
                RefundRequest.created_at > after[0],
                and_(RefundRequest.created_at == after[0], RefundRequest.id > after[1]),
            )
        )
    query = query.order_by(RefundRequest.created_at, RefundRequest.id).limit(limit)
    return (await session.execute(query)).scalars().all()


async def unfinished_refunds(session: AsyncSession, limit: int = 50) -> Sequence[uuid.UUID]:
    """Approved refunds whose order is not refunded yet (a crash between the two)."""
    query = (
        select(RefundRequest.id)
        .join(Order, Order.id == RefundRequest.order_id)
        .where(RefundRequest.status == "approved", Order.status != "refunded")
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()
