"""Typed helpers for the payments tests: cards, top-ups through the API, a purchases-side
client, and what the ledger holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.payments.client import PaymentsClient
from lugx.services.payments.models import LedgerAccount, LedgerEntry
from tests.conftest import database_of, over_http
from tests.users.factories import Account

TOP_UPS = "/api/v1/payments/wallet/top-ups"
WALLET = "/api/v1/payments/wallet"
SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
NO_FUNDS = "4000000000009995"
EXPIRED = "4000000000000069"
NEEDS_CONFIRMATION = "4000002500003155"
ALL_TEST_NUMBERS = (SUCCEEDS, DECLINED, NO_FUNDS, EXPIRED, NEEDS_CONFIRMATION)


def card(number: str = SUCCEEDS, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": number,
        "exp_month": 12,
        "exp_year": datetime.now(UTC).year + 3,
        "cvc": "123",
    }
    body.update(changes)
    return body


def usd(amount: int) -> dict[str, Any]:
    """An amount as a request body carries it: any int, so a test can send a bad one (a real
    amount is lugx.platform.money.Money)."""
    return {"amount": amount, "currency": "USD"}


async def post_top_up(
    client: httpx.AsyncClient,
    account: Account,
    amount: int = 2_000,
    *,
    number: str = SUCCEEDS,
    key: str | None = None,
    card_body: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {**account.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    body = {"amount": usd(amount), "card": card_body or card(number)}
    return await client.post(TOP_UPS, json=body, headers=headers)


async def funded(client: httpx.AsyncClient, account: Account, amount: int) -> None:
    """Put `amount` into the account's wallet (in top-ups of at most 500.00)."""
    while amount > 0:
        step = min(amount, 50_000)
        response = await post_top_up(client, account, step)
        assert response.status_code == 201, response.text
        amount -= step


async def balance(client: httpx.AsyncClient, account: Account) -> int:
    response = await client.get(WALLET, headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"]["amount"])


def payments_as(platform: Platform, caller: str = "purchases") -> PaymentsClient:
    """The client purchases uses, carrying `caller`'s service token, over payments' internal
    endpoints (so their guard and validation answer)."""
    return over_http(platform, PaymentsClient, caller)


async def assert_ledger_balanced(platform: Platform) -> None:
    """Every transaction sums to zero (so the whole ledger does), no wallet is below zero, and
    each wallet's last balance equals the sum of its entries."""
    async with database_of(platform, "payments").session(write=False) as session:
        unbalanced = await session.execute(
            select(LedgerEntry.transaction_id)
            .group_by(LedgerEntry.transaction_id)
            .having(func.sum(LedgerEntry.amount) != 0)
        )
        assert unbalanced.all() == []
        total = await session.execute(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
        assert total.scalar_one() == 0
        negative = await session.execute(select(func.count()).where(LedgerEntry.balance_after < 0))
        assert negative.scalar_one() == 0
        wallets = (
            await session.execute(select(LedgerAccount).where(LedgerAccount.kind == "wallet"))
        ).scalars()
        for wallet in wallets:
            entries = (
                await session.execute(
                    select(LedgerEntry)
                    .where(LedgerEntry.account_id == wallet.id)
                    .order_by(LedgerEntry.sequence)
                )
            ).scalars()
            running = 0
            for number, entry in enumerate(entries, start=1):
                running += entry.amount
                assert entry.sequence == number
                assert entry.balance_after == running


async def outbox(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    """Payloads of the payments service's events of one type, oldest first."""
    table = platform.runtimes["payments"].spec.event_tables.outbox
    async with database_of(platform, "payments").session(write=False) as session:
        rows = await session.execute(
            select(table.c.payload).where(table.c.type == event_type).order_by(table.c.occurred_at)
        )
        return [orjson.loads(payload) for (payload,) in rows]
