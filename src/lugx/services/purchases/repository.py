"""Every query of the purchases service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.services.purchases.models import (
    Entitlement,
    Order,
    PlaySession,
    ProductKey,
    RefundRequest,
)

Keyset = tuple[datetime, uuid.UUID]


# --- orders ---------------------------------------------------------------------------------


async def order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
    """`lock`: take the row for the rest of the transaction (PostgreSQL; SQLite's writers are
    serialised anyway), so two settlers of one order never both see it pending."""
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    result: Order | None = (await session.execute(query)).scalar_one_or_none()
    return result


async def order_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> Order | None:
    result: Order | None = await session.scalar(
        select(Order).where(Order.user_id == user_id, Order.idempotency_key == key)
    )
    return result


async def orders_of(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, after: Keyset | None
) -> Sequence[Order]:
    query = select(Order).where(Order.user_id == user_id)
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


async def owned(
    session: AsyncSession, user_id: uuid.UUID, app_ids: Sequence[int]
) -> Sequence[Entitlement]:
    query = select(Entitlement).where(
        Entitlement.user_id == user_id,
        Entitlement.app_id.in_(list(app_ids)),
        Entitlement.revoked_at.is_(None),
    )
    return (await session.execute(query)).scalars().all()


async def library(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, after: Keyset | None
) -> Sequence[Entitlement]:
    query = select(Entitlement).where(
        Entitlement.user_id == user_id, Entitlement.revoked_at.is_(None)
    )
    if after is not None:
        query = query.where(
            or_(
                Entitlement.acquired_at < after[0],
                and_(Entitlement.acquired_at == after[0], Entitlement.id < after[1]),
            )
        )
    query = query.order_by(Entitlement.acquired_at.desc(), Entitlement.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


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
