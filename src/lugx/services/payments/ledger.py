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

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict
from lugx.services.payments import repository as repo
from lugx.services.payments.models import LedgerAccount, LedgerEntry, LedgerTransaction

CURRENCY = "USD"  # wallets are in USD for now (docs/commerce.md)
CARD_CLEARING = "card_clearing"
SALES = "sales"
REFUNDS = "refunds"


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
) -> LedgerTransaction:
    """Write one balanced transaction. InsufficientFunds (nothing written) if a wallet would go
    below zero; Conflict if this movement was already posted or a concurrent writer won."""
    if sum(amount for _, amount in legs) != 0 or any(amount == 0 for _, amount in legs):
        raise ValueError("a ledger transaction's entries must be non-zero and sum to zero")
    wallets = sorted({a.id: a for a, _ in legs if a.kind == "wallet"}.values(), key=lambda a: a.id)
    last: dict[uuid.UUID, LedgerEntry | None] = {}
    for account in wallets:
        await repo.account_by_code(session, account.code, lock=True)
        last[account.id] = await repo.last_entry(session, account.id)
    now = utcnow()
    txn = LedgerTransaction(id=uuid.uuid4(), kind=kind, reference_id=reference_id, created_at=now)
    entries = []
    for account, amount in legs:
        entry = LedgerEntry(
            transaction_id=txn.id,
            account_id=account.id,
            amount=amount,
            currency=account.currency,
            created_at=now,
        )
        if account.kind == "wallet":
            previous = last[account.id]
            entry.sequence = (previous.sequence or 0) + 1 if previous is not None else 1
            before = (previous.balance_after or 0) if previous is not None else 0
            entry.balance_after = before + amount
            if entry.balance_after < 0:
                raise InsufficientFunds(account.code)
            last[account.id] = entry
        entries.append(entry)
    try:
        async with session.begin_nested():
            session.add(txn)
            await session.flush()
            session.add_all(entries)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "The wallet changed at the same moment; try again", code="ledger-conflict"
        ) from exc
    return txn
