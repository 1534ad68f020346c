"""Refunds: automatic inside the window, otherwise decided by an admin; and the state machine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Conflict
from lugx.services.purchases.models import Order
from lugx.services.purchases.states import TRANSITIONS, move
from tests.payments.factories import assert_ledger_balanced, balance
from tests.purchases.factories import (
    API,
    LIBRARY,
    admin,
    buyer,
    library_of,
    order_of,
    paid_order,
    store,
)
from tests.shopping.factories import add_to_cart
from tests.users.factories import Account, signed_up


async def ask_refund(
    client: httpx.AsyncClient, account: Account, order_id: str, key: str | None = None
) -> httpx.Response:
    return await client.post(
        f"{API}/orders/{order_id}/refund",
        json={"reason": "It does not run on my machine"},
        headers={**account.headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


async def play(client: httpx.AsyncClient, account: Account, app_id: int, hours: int) -> None:
    end = datetime.now(UTC) - timedelta(minutes=1)
    body = {"started_at": (end - timedelta(hours=hours)).isoformat(), "ended_at": end.isoformat()}
    response = await client.post(f"{LIBRARY}/{app_id}/playtime", json=body, headers=account.headers)
    assert response.status_code == 200, response.text


async def test_an_unplayed_order_is_refunded_at_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1999)
    player = await buyer(client, app_id, wallet=3000)
    order = await paid_order(client, player)
    stranger = await signed_up(client)
    assert (await ask_refund(client, stranger, order["id"])).status_code == 404
    response = await ask_refund(client, player, order["id"], key="refund-1")
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["automatic"]) == ("approved", True)
    replay = await ask_refund(client, player, order["id"], key="refund-1")
    assert (replay.status_code, replay.json()["id"]) == (200, response.json()["id"])
    assert (await order_of(client, player, order["id"]))["status"] == "refunded"
    assert await balance(client, player) == 3000
    assert await library_of(client, player) == []
    again = await ask_refund(client, player, order["id"])
    assert again.status_code == 409
    await assert_ledger_balanced(platform)


async def test_a_played_order_waits_for_an_admin(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    first, second = await store(client, platform, 1500, 1000)
    player = await buyer(client, first, wallet=5000)
    order = await paid_order(client, player)
    await play(client, player, first, 3)
    pending = await ask_refund(client, player, order["id"])
    assert pending.status_code == 201
    assert (pending.json()["status"], pending.json()["automatic"]) == ("pending", False)
    assert (await order_of(client, player, order["id"]))["status"] in ("paid", "completed")
    request_id = pending.json()["id"]
    assert (
        await client.post(
            f"{API}/refund-requests/{request_id}/approve", json={}, headers=player.headers
        )
    ).status_code == 403
    assert (await client.get(f"{API}/refund-requests", headers=player.headers)).status_code == 403
    boss = await admin(client, platform)
    listed = await client.get(
        f"{API}/refund-requests", params={"status": "pending"}, headers=boss.headers
    )
    assert [r["id"] for r in listed.json()["items"]] == [request_id]
    approved = await client.post(
        f"{API}/refund-requests/{request_id}/approve",
        json={"note": "Goodwill"},
        headers=boss.headers,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert (await order_of(client, player, order["id"]))["status"] == "refunded"
    assert await balance(client, player) == 5000
    twice = await client.post(
        f"{API}/refund-requests/{request_id}/deny", json={}, headers=boss.headers
    )
    assert twice.status_code == 409

    # A denied request leaves the order and library as they were.
    other = await buyer(client, second, wallet=2000)
    kept = await paid_order(client, other)
    await play(client, other, second, 3)
    asked = (await ask_refund(client, other, kept["id"])).json()
    denied = await client.post(
        f"{API}/refund-requests/{asked['id']}/deny", json={"note": "Played"}, headers=boss.headers
    )
    assert denied.json()["status"] == "denied"
    assert (await order_of(client, other, kept["id"]))["status"] in ("paid", "completed")
    assert [e["app_id"] for e in await library_of(client, other)] == [second]
    await assert_ledger_balanced(platform)


async def test_a_refunded_gift_leaves_the_recipient_unless_played(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 800)
    friend = await signed_up(client)
    giver = await buyer(client, app_id, wallet=2000, gifts={app_id: friend.id})
    order = await paid_order(client, giver)
    assert (await ask_refund(client, giver, order["id"])).json()["status"] == "approved"
    assert await library_of(client, friend) == []

    [played] = await store(client, platform, 800)
    giver2 = await buyer(client, played, wallet=2000, gifts={played: friend.id})
    order2 = await paid_order(client, giver2)
    await play(client, friend, played, 1)
    request = (await ask_refund(client, giver2, order2["id"])).json()
    assert request["status"] == "pending"  # a played gift is for an admin to judge
    boss = await admin(client, platform)
    await client.post(
        f"{API}/refund-requests/{request['id']}/approve", json={}, headers=boss.headers
    )
    assert [e["app_id"] for e in await library_of(client, friend)] == [played]


async def test_a_refunded_game_bought_again_comes_back_with_its_playtime(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1500)
    player = await buyer(client, app_id, wallet=5000)
    first = await paid_order(client, player)
    await play(client, player, app_id, 3)
    request = (await ask_refund(client, player, first["id"])).json()
    boss = await admin(client, platform)
    approved = await client.post(
        f"{API}/refund-requests/{request['id']}/approve", json={}, headers=boss.headers
    )
    assert approved.status_code == 200, approved.text
    assert await library_of(client, player) == []
    assert (await add_to_cart(client, player, app_id)).status_code == 201
    second = await paid_order(client, player)
    [entry] = await library_of(client, player)
    # The entitlement's row is brought back: this order's, and the hours played kept.
    assert (entry["order_id"], entry["source"]) == (second["id"], "purchase")
    assert entry["playtime_minutes"] == 180
    decided_at = datetime.fromisoformat(approved.json()["decided_at"])
    assert datetime.fromisoformat(entry["acquired_at"]) > decided_at
    assert await balance(client, player) == 5000 - 1500


async def test_an_unpaid_order_cannot_be_refunded(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 999)
    player = await buyer(client, app_id)
    from tests.purchases.factories import checkout

    failed = (await checkout(client, player, method="card", number="4000000000000002")).json()
    assert failed["status"] == "failed"
    assert (await ask_refund(client, player, failed["id"])).status_code == 409


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current in TRANSITIONS
        for target in TRANSITIONS
        if target not in TRANSITIONS[current]
    ],
)
def test_the_state_machine_refuses_every_move_not_in_its_table(current: str, target: str) -> None:
    order = Order(user_id=uuid.uuid4(), status=current)
    with pytest.raises(Conflict):
        move(order, target, datetime.now(UTC))  # type: ignore[arg-type]
    assert order.status == current
