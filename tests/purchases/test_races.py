"""Fifty checkouts of one cart at once: one order is paid, the others are refused cleanly."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.payments.models import LedgerEntry
from lugx.services.purchases.models import Entitlement, Order
from tests.conftest import database_of
from tests.payments.factories import assert_ledger_balanced, balance
from tests.purchases.factories import buyer, checkout, library_of, store


async def test_fifty_concurrent_checkouts_pay_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    app_ids = await store(client, platform, 1999, 999)
    player = await buyer(client, *app_ids, wallet=10_000)
    answers = await asyncio.gather(*(checkout(client, player) for _ in range(50)))
    codes = Counter(answer.status_code for answer in answers)
    assert set(codes) <= {201, 409}, [a.text for a in answers if a.status_code not in (201, 409)]
    paid = [a.json() for a in answers if a.status_code == 201]
    assert [order["status"] for order in paid] == ["paid"], paid
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert await balance(client, player) == 10_000 - 2998
    assert sorted(e["app_id"] for e in await library_of(client, player)) == sorted(app_ids)
    async with database_of(platform, "purchases").session(write=False) as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        entitlements = await session.scalar(select(func.count()).select_from(Entitlement))
    assert (orders, entitlements) == (1, 2)
    async with database_of(platform, "payments").session(write=False) as session:
        charges = await session.scalar(select(func.count()).where(LedgerEntry.amount == -2998))
    assert charges == 1
    await assert_ledger_balanced(platform)
