"""The double-entry ledger: accounts, and posting a movement of money as entries summing to zero.

Sign: a positive entry credits the account. Money comes in from a card through
`card_clearing` (which goes negative: what the card networks owe us), is spent into `sales`,
and goes back out through `refunds`:

    top-up          card_clearing -X   wallet +X
    wallet charge   wallet -X          sales +X
    card charge     card_clearing -X   sales +X
    refund          refunds -X         wallet +X  (wallet-funded) | card_clearing +X (card-funded)

A debit never takes a wallet below zero: `post` locks the wallet rows it touches (in one order,
so two postings never deadlock), reads each one's last entry, and writes the next sequence
number with the balance it leaves. The (account_id, sequence) unique constraint is the backstop
if anything ever bypassed the lock: the second writer fails instead of both writing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import after_commit, utcnow
from lugx.platform.db.prepared import prepared
from lugx.platform.errors import Conflict
from lugx.services.payments import repository as repo
from lugx.services.payments.models import LedgerAccount, LedgerEntry, LedgerTransaction

CURRENCY = "USD"  # wallets are in USD for now (docs/commerce.md)
CARD_CLEARING = "card_clearing"
SALES = "sales"
REFUNDS = "refunds"

# Postings are written as plain rows (nothing reads them back in the transaction that writes),
# by statements built once: their values go as parameters.
_INSERT_TRANSACTION = prepared(insert(cast(Table, LedgerTransaction.__table__)))
_INSERT_ENTRY = prepared(insert(cast(Table, LedgerEntry.__table__)))


class InsufficientFunds(Exception):
    """A wallet cannot pay this; nothing was written."""


@dataclass(frozen=True)
class Balance:
    amount: int
    updated_at: datetime | None


def wallet_code(user_id: uuid.UUID) -> str:
    return f"wallet:{user_id}"


async def wallet(session: AsyncSession, user_id: uuid.UUID) -> LedgerAccount | None:
    return await repo.account_by_code(session, wallet_code(user_id))


async def wallet_or_new(session: AsyncSession, user_id: uuid.UUID) -> LedgerAccount:
    code = wallet_code(user_id)
    return await repo.first_or_insert(
        session,
        lambda: repo.account_by_code(session, code),
        lambda: LedgerAccount(code=code, kind="wallet", user_id=user_id, currency=CURRENCY),
    )


async def system_account(session: AsyncSession, code: str) -> LedgerAccount:
    return await repo.first_or_insert(
        session,
        lambda: repo.account_by_code(session, code),
        lambda: LedgerAccount(code=code, kind="system", currency=CURRENCY),
    )


class SystemAccounts:
    """The system accounts of one process, read once: they are made by the first payment and
    never change, so later postings need no read of them. An account is kept only once the
    transaction that read (or made) it has committed."""

    def __init__(self) -> None:
        self._known: dict[str, LedgerAccount] = {}

    async def get(self, session: AsyncSession, code: str) -> LedgerAccount:
        account = self._known.get(code)
        if account is None:
            account = await system_account(session, code)
            after_commit(session, partial(self._keep, account))
        return account

    async def _keep(self, account: LedgerAccount) -> None:
        self._known[account.code] = account


async def balance_of(session: AsyncSession, account: LedgerAccount | None) -> Balance:
    """A wallet's balance: its last entry's `balance_after` (one index lookup)."""
    if account is None:
        return Balance(0, None)
    last = await repo.last_entry(session, account.id)
    if last is None or last.balance_after is None:
        return Balance(0, account.created_at)
    return Balance(last.balance_after, last.created_at)


async def post(
    session: AsyncSession,
    kind: str,
    reference_id: uuid.UUID,
    legs: list[tuple[LedgerAccount, int]],
) -> None:
    """Write one balanced transaction (two INSERTs). InsufficientFunds (nothing written) if a
    wallet would go below zero; Conflict if this movement was already posted or a concurrent
    writer won."""
    if sum(amount for _, amount in legs) != 0 or any(amount == 0 for _, amount in legs):
        raise ValueError("a ledger transaction's entries must be non-zero and sum to zero")
    wallets = sorted({a.id: a for a, _ in legs if a.kind == "wallet"}.values(), key=lambda a: a.id)
    last: dict[uuid.UUID, tuple[int, int]] = {}  # wallet: (its last sequence, balance)
    for account in wallets:
        await repo.account_by_code(session, account.code, lock=True)
        previous = await repo.last_entry(session, account.id)
        last[account.id] = (
            (previous.sequence or 0, previous.balance_after or 0) if previous else (0, 0)
        )
    now = utcnow()
    transaction_id = uuid.uuid4()
    entries: list[dict[str, Any]] = []
    for account, amount in legs:
        entry: dict[str, Any] = {
            "id": uuid.uuid4(),
            "transaction_id": transaction_id,
            "account_id": account.id,
            "amount": amount,
            "currency": account.currency,
            "sequence": None,
            "balance_after": None,
            "created_at": now,
        }
        if account.kind == "wallet":
            sequence, before = last[account.id]
            entry["sequence"], entry["balance_after"] = sequence + 1, before + amount
            if entry["balance_after"] < 0:
                raise InsufficientFunds(account.code)
            last[account.id] = (sequence + 1, before + amount)
        entries.append(entry)
    try:
        await session.execute(
            _INSERT_TRANSACTION,
            {"id": transaction_id, "kind": kind, "reference_id": reference_id, "created_at": now},
        )
        await session.execute(_INSERT_ENTRY, entries)
    except IntegrityError as exc:
        # No savepoint: whoever gets this lets the whole unit of work roll back.
        raise Conflict(
            "The wallet changed at the same moment; try again", code="ledger-conflict"
        ) from exc
