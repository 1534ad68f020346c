"""Every query of the payments service.

`..._for_update` reads lock the row on PostgreSQL (SELECT ... FOR UPDATE) and re-read it as
committed (populate_existing); on SQLite the whole write transaction is already serialised.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.sql import insert_new
from lugx.services.payments.models import (
    Charge,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Refund,
    TopUp,
)

T = TypeVar("T")


async def insert_or_none(session: AsyncSession, row: Any, *, track: bool = True) -> bool:
    """Insert `row` unless a unique constraint says another request got there first: False then,
    and nothing written (the transaction still usable). See lugx.platform.db.sql.insert_new."""
    return await insert_new(session, row, unless_taken=True, track=track)


async def first_or_insert(
    session: AsyncSession, find: Callable[[], Awaitable[T | None]], make: Callable[[], T]
) -> T:
    """The row `find` returns, else a new one (`make`), surviving a race to create it."""
    found = await find()
    if found is not None:
        return found
    row = make()
    if await insert_or_none(session, row):
        return row
    found = await find()
    assert found is not None, "a unique constraint refused the row, yet no row is there"
    return found


# --- ledger -----------------------------------------------------------------------------------


async def account_by_code(
    session: AsyncSession, code: str, *, lock: bool = False
) -> LedgerAccount | None:
    statement = select(LedgerAccount).where(LedgerAccount.code == code)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def last_entry(session: AsyncSession, account_id: uuid.UUID) -> LedgerEntry | None:
    result = await session.execute(
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.sequence.is_not(None))
        .order_by(LedgerEntry.sequence.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def wallet_entries(
    session: AsyncSession, account_id: uuid.UUID, *, limit: int, before: int | None
) -> list[tuple[LedgerEntry, LedgerTransaction]]:
    """Newest first, keyset on the sequence."""
    statement = (
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.sequence.is_not(None))
        .order_by(LedgerEntry.sequence.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(LedgerEntry.sequence < before)
    return [(entry, txn) for entry, txn in (await session.execute(statement)).all()]


# --- top-ups ----------------------------------------------------------------------------------


async def top_up_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> TopUp | None:
    result = await session.execute(
        select(TopUp).where(TopUp.user_id == user_id, TopUp.idempotency_key == key)
    )
    return result.scalar_one_or_none()


async def top_up_of(
    session: AsyncSession, user_id: uuid.UUID, top_up_id: uuid.UUID, *, lock: bool = False
) -> TopUp | None:
    statement = select(TopUp).where(TopUp.id == top_up_id, TopUp.user_id == user_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


# --- charges and refunds ----------------------------------------------------------------------


async def charge_by_key(session: AsyncSession, key: str) -> Charge | None:
    result = await session.execute(select(Charge).where(Charge.idempotency_key == key))
    return result.scalar_one_or_none()


async def charge_by_order(session: AsyncSession, order_id: uuid.UUID) -> Charge | None:
    result = await session.execute(select(Charge).where(Charge.order_id == order_id))
    return result.scalar_one_or_none()


async def charge_by_id(
    session: AsyncSession,
    charge_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None = None,
    lock: bool = False,
) -> Charge | None:
    statement = select(Charge).where(Charge.id == charge_id)
    if user_id is not None:
        statement = statement.where(Charge.user_id == user_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def refund_by_key(session: AsyncSession, charge_id: uuid.UUID, key: str) -> Refund | None:
    result = await session.execute(
        select(Refund).where(Refund.charge_id == charge_id, Refund.idempotency_key == key)
    )
    return result.scalar_one_or_none()
