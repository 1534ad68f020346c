"""Real races: many requests at once over real HTTP (ASGI) on real commits and constraints."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Conflict
from lugx.platform.money import Money
from lugx.services.payments.client import PaymentsClient
from tests.payments.factories import (
    NEEDS_CONFIRMATION,
    assert_ledger_balanced,
    balance,
    funded,
    outbox,
    payments_as,
    post_top_up,
)
from tests.users.factories import signed_up


def purchases_client(platform: Platform) -> PaymentsClient:
    """The client as the purchases service holds it (that service is left out: conftest.py)."""
    runtime = platform.runtimes.get("purchases")
    if runtime is not None:
        return runtime.ctx.client(PaymentsClient)
    return payments_as(platform, "purchases")


async def test_fifty_charges_on_a_wallet_that_pays_for_ten(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 10_000)
    payments = purchases_client(platform)
    charges = await asyncio.gather(
        *(
            payments.charge(
                user_id=uuid.UUID(player.id),
                order_id=uuid.uuid4(),
                amount=Money(amount=1_000, currency="USD"),
                method="wallet",
            )
            for _ in range(50)
        )
    )
    outcomes = Counter((c.status, c.failure_code) for c in charges)
    assert outcomes == {("succeeded", None): 10, ("failed", "insufficient_funds"): 40}
    assert await balance(client, player) == 0
    assert len(await outbox(platform, "PaymentSucceeded")) == 10
    assert len(await outbox(platform, "PaymentFailed")) == 40
    await assert_ledger_balanced(platform)


async def test_ten_replays_of_one_charge_at_once_charge_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 5_000)
    payments = purchases_client(platform)
    order_id = uuid.uuid4()
    charges = await asyncio.gather(
        *(
            payments.charge(
                user_id=uuid.UUID(player.id),
                order_id=order_id,
                amount=Money(amount=1_234, currency="USD"),
                method="wallet",
            )
            for _ in range(10)
        )
    )
    assert len({c.id for c in charges}) == 1
    assert charges[0].status == "succeeded"
    assert await balance(client, player) == 5_000 - 1_234
    assert len(await outbox(platform, "PaymentSucceeded")) == 1
    await assert_ledger_balanced(platform)


async def test_ten_replays_of_one_top_up_at_once_credit_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    responses = await asyncio.gather(
        *(post_top_up(client, player, 2_000, key="same-key") for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await balance(client, player) == 2_000
    assert len(await outbox(platform, "WalletToppedUp")) == 1
    await assert_ledger_balanced(platform)


async def test_a_new_wallet_topped_up_many_times_at_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    responses = await asyncio.gather(*(post_top_up(client, player, 1_000) for _ in range(10)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert await balance(client, player) == 10_000
    await assert_ledger_balanced(platform)


async def test_concurrent_refunds_never_give_back_more_than_was_charged(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 1_000)
    payments = purchases_client(platform)
    charge = await payments.charge(
        user_id=uuid.UUID(player.id),
        order_id=uuid.uuid4(),
        amount=Money(amount=1_000, currency="USD"),
        method="wallet",
    )

    async def refund(key: str) -> str:
        try:
            await payments.refund(
                charge.id,
                amount=Money(amount=300, currency="USD"),
                reason="race",
                idempotency_key=key,
            )
        except Conflict:
            return "refused"
        return "refunded"

    results = await asyncio.gather(*(refund(f"r{i}") for i in range(10)), refund("r0"))
    assert results[-1] == results[0]  # r0's replay answers as r0 did
    assert results[:10].count("refunded") == 3  # whichever three came first
    assert await balance(client, player) == 900
    assert len(await outbox(platform, "PaymentRefunded")) == 3
    await assert_ledger_balanced(platform)


async def test_confirming_twice_at_once_settles_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    top_up = (await post_top_up(client, player, 3_000, number=NEEDS_CONFIRMATION)).json()
    url = top_up["next_action"]["url"]
    responses = await asyncio.gather(*(client.post(url, headers=player.headers) for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    assert await balance(client, player) == 3_000
    assert len(await outbox(platform, "WalletToppedUp")) == 1
    await assert_ledger_balanced(platform)
