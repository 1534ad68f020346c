"""Checkout end to end: cart in shopping, money in payments, the order and library here."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from lugx.services.purchases.models import Order
from tests.conftest import database_of, units_of_work
from tests.payments.factories import (
    DECLINED,
    EXPIRED,
    NO_FUNDS,
    SUCCEEDS,
    assert_ledger_balanced,
    balance,
    card,
)
from tests.purchases.factories import (
    API,
    CHECKOUT,
    buyer,
    checkout,
    count_rows,
    library_of,
    paid_order,
    store,
    wait_status,
)
from tests.shopping.factories import cart_of


async def test_wallet_checkout_pays_grants_and_completes(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    app_ids = await store(client, platform, 1999, 500)
    player = await buyer(client, *app_ids, wallet=5000)
    order = await paid_order(client, player)
    assert order["total"] == {"amount": 2499, "currency": "USD"}
    assert [line["app_id"] for line in order["lines"]] == app_ids
    assert await balance(client, player) == 5000 - 2499
    library = await library_of(client, player)
    assert sorted(e["app_id"] for e in library) == sorted(app_ids)
    assert {e["source"] for e in library} == {"purchase"}
    completed = await wait_status(client, player, order["id"], "completed")
    assert completed["completed_at"] is not None
    assert (await cart_of(client, player))["items"] == []
    receipt = await client.get(f"{API}/orders/{order['id']}/receipt", headers=player.headers)
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["total"]["amount"] == 2499
    await assert_ledger_balanced(platform)


async def test_card_checkout_with_each_sandbox_card(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    outcomes = {
        SUCCEEDS: ("paid", None),
        DECLINED: ("failed", "card_declined"),
        NO_FUNDS: ("failed", "insufficient_funds"),
        EXPIRED: ("failed", "expired_card"),
    }
    for number, (status, reason) in outcomes.items():
        [app_id] = await store(client, platform, 999)
        player = await buyer(client, app_id)
        response = await checkout(client, player, method="card", number=number)
        assert response.status_code == 201, response.text
        order = response.json()
        assert (order["status"], order["failure_reason"]) == (status, reason), number
        owned = [e["app_id"] for e in await library_of(client, player)]
        assert owned == ([app_id] if status == "paid" else [])
        if status == "failed":  # the cart is untouched: the player can try another card
            assert [i["app_id"] for i in (await cart_of(client, player))["items"]] == [app_id]
    await assert_ledger_balanced(platform)


async def test_a_card_that_cannot_be_right_is_refused_before_any_order(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1999)
    account = await buyer(client, app_id)
    cart_before = (await client.get("/api/v1/shopping/cart", headers=account.headers)).json()
    bad_cards = {
        "number": {**card("4242424242424241")},  # fails the Luhn checksum
        "exp_year": {**card("4242424242424242"), "exp_year": 2001},  # long expired
        "cvc": {**card("4242424242424242"), "cvc": "12"},
    }
    for field, bad in bad_cards.items():
        response = await client.post(
            CHECKOUT,
            json={"payment_method": "card", "card": bad},
            headers={**account.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [f"card.{field}"]
    # Nothing happened: no order, the cart as it was, and nobody was charged.
    assert await count_rows(platform, Order) == 0
    cart_after = (await client.get("/api/v1/shopping/cart", headers=account.headers)).json()
    assert cart_after == cart_before
    assert (await client.get(f"{API}/orders", headers=account.headers)).json()["items"] == []


async def test_the_cart_is_empty_when_the_checkout_answers(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Purchases tells shopping at once how the order ended; no waiting for the events, so a
    player who buys again straight away never finds the games just bought in the cart."""
    first, second = await store(client, platform, 999, 1499)
    player = await buyer(client, first, wallet=5000)
    paid = await checkout(client, player)
    assert paid.status_code == 201, paid.text
    assert (await cart_of(client, player))["items"] == []  # at once, not eventually
    again = await client.post(
        "/api/v1/shopping/cart/items", json={"app_id": second}, headers=player.headers
    )
    assert again.status_code == 201
    assert (await checkout(client, player)).json()["status"] in ("paid", "completed")


async def test_the_order_is_placed_in_one_statement(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saga's first step writes the order alone, its own transaction; the steps after it
    write in transactions."""
    app_ids = await store(client, platform, 1999)
    player = await buyer(client, *app_ids, wallet=5000)
    opened = units_of_work(monkeypatch, database_of(platform, "purchases"), here=True)
    await paid_order(client, player)
    writes = [unit["single"] for unit in opened if unit["write"]]
    assert writes[0] is True
    assert False in writes[1:]  # pricing and settling
