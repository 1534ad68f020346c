"""The quick start's demo wallet: $50.00 for the demo player, once, however often it starts."""

from __future__ import annotations

import httpx

from lugx.platform.bootstrap import Platform
from tests.payments.factories import assert_ledger_balanced, outbox


async def test_the_demo_player_starts_with_fifty_dollars_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    for _ in range(2):  # a second start finds the top-up and moves nothing
        for runtime in platform.runtimes.values():  # users first: payments asks it for `demo`
            await runtime.seed_demo()
    tokens = (
        await client.post(
            "/api/v1/users/login", json={"login": "demo", "password": "play-lugx-2026"}
        )
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    wallet = (await client.get("/api/v1/payments/wallet", headers=headers)).json()
    assert wallet["balance"] == {"amount": 5_000, "currency": "USD"}
    entries = (await client.get("/api/v1/payments/wallet/entries", headers=headers)).json()
    assert [e["kind"] for e in entries["items"]] == ["top_up"]
    assert len(await outbox(platform, "WalletToppedUp")) == 1
    await assert_ledger_balanced(platform)


async def test_no_demo_player_no_demo_money(platform: Platform) -> None:
    await platform.runtimes["payments"].seed_demo()  # the users service has no `demo` yet
    assert await outbox(platform, "WalletToppedUp") == []
