"""The saga's other paths: the confirmation step, replays, the recovery loop."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

from lugx.platform.bootstrap import Platform
from lugx.platform.db import utcnow
from lugx.platform.events import Event
from lugx.platform.money import Money
from lugx.services.purchases import saga
from lugx.services.purchases.events import consumers
from lugx.services.purchases.models import Order
from lugx.services.purchases.recovery import recover_once
from lugx.services.purchases.service import ChargeOutcome
from tests.conftest import database_of
from tests.payments.factories import (
    NEEDS_CONFIRMATION,
    SUCCEEDS,
    balance,
    outbox,
    payments_as,
)
from tests.purchases.factories import (
    API,
    buyer,
    checkout,
    eventually,
    library_of,
    order_of,
    store,
    wait_status,
)
from tests.shopping.factories import cart_of, service_calls


async def _backdate(platform: Platform, order_id: str, **values: object) -> None:
    async with database_of(platform, "purchases").session() as session:
        await session.execute(update(Order).where(Order.id == uuid.UUID(order_id)).values(**values))


async def test_a_card_needing_confirmation_is_paid_by_payments_event(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1500)
    player = await buyer(client, app_id)
    response = await checkout(client, player, method="card", number=NEEDS_CONFIRMATION)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "awaiting_payment"
    assert order["expires_at"] is not None
    assert order["charge_id"] is not None
    assert await library_of(client, player) == []
    # Another checkout waits for this one.
    again = await checkout(client, player, method="wallet")
    assert again.status_code == 409, again.text
    confirmed = await client.post(
        f"/api/v1/payments/confirmations/{order['charge_id']}", headers=player.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    paid = await wait_status(client, player, order["id"], "paid", "completed")
    assert paid["paid_at"] is not None
    assert [e["app_id"] for e in await library_of(client, player)] == [app_id]


async def test_a_replayed_checkout_returns_the_first_order_and_pays_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1200)
    player = await buyer(client, app_id, wallet=5000)
    first = await checkout(client, player, key="same-key")
    again = await checkout(client, player, key="same-key")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert await balance(client, player) == 5000 - 1200
    listed = await client.get(f"{API}/orders", headers=player.headers)
    assert [o["id"] for o in listed.json()["items"]] == [first.json()["id"]]


async def test_checkout_needs_an_idempotency_key_and_a_valid_body(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1200)
    player = await buyer(client, app_id, wallet=5000)
    no_key = await client.post(
        f"{API}/checkout", json={"payment_method": "wallet"}, headers=player.headers
    )
    assert no_key.status_code == 422
    no_card = await checkout(client, player, method="card")
    assert no_card.status_code == 422
    assert no_card.headers["content-type"].startswith("application/problem+json")
    listed = await client.get(f"{API}/orders", headers=player.headers)
    assert listed.json()["items"] == []
    assert await balance(client, player) == 5000


async def test_an_empty_cart_is_refused_and_leaves_no_order(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await buyer(client, wallet=1000)
    response = await checkout(client, player)
    assert response.status_code == 409, response.text
    listed = await client.get(f"{API}/orders", headers=player.headers)
    assert listed.json()["items"] == []


async def test_recovery_settles_pending_orders_and_expires_unconfirmed_ones(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    ctx = platform.runtimes["purchases"].ctx
    a, b = await store(client, platform, 700, 800)
    charged = await buyer(client, a, wallet=2000)
    forgotten = await buyer(client, b, wallet=2000)
    # Two checkouts that died after pricing: one after payments charged it, one before.
    placed = []
    for player in (charged, forgotten):
        step = await saga.place(ctx, uuid.UUID(player.id), str(uuid.uuid4()), "wallet")
        await saga.price(ctx, step.order_id, uuid.UUID(player.id))
        placed.append(str(step.order_id))
    await payments_as(platform).charge(
        user_id=uuid.UUID(charged.id),
        order_id=uuid.UUID(placed[0]),
        amount=Money(amount=700),
        method="wallet",
    )
    await recover_once(ctx)  # too fresh: left to their own requests
    assert (await order_of(client, charged, placed[0]))["status"] in ("pending", "paid")
    for order_id in placed:
        await _backdate(platform, order_id, updated_at=utcnow() - timedelta(hours=1))
    await recover_once(ctx)
    assert (await order_of(client, charged, placed[0]))["status"] in ("paid", "completed")
    assert [e["app_id"] for e in await library_of(client, charged)] == [a]
    failed = await order_of(client, forgotten, placed[1])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "no_charge")
    assert await balance(client, forgotten) == 2000

    # An unconfirmed card payment past its deadline expires, and its charge is canceled.
    [c] = await store(client, platform, 900)
    slow = await buyer(client, c)
    waiting = (await checkout(client, slow, method="card", number=NEEDS_CONFIRMATION)).json()
    await _backdate(platform, waiting["id"], expires_at=utcnow() - timedelta(seconds=1))
    await recover_once(ctx)
    expired = await order_of(client, slow, waiting["id"])
    assert expired["status"] == "expired"
    late = await client.post(
        f"/api/v1/payments/confirmations/{waiting['charge_id']}", headers=slow.headers
    )
    assert late.status_code == 409, late.text
    assert await library_of(client, slow) == []


async def test_money_landing_after_its_order_failed_is_given_back_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """The checkout's charge lands late: the recovery loop found no charge and failed the
    order meanwhile. PaymentSucceeded finds the order failed and the money goes back; told
    again, it gives nothing back twice."""
    ctx = platform.runtimes["purchases"].ctx
    [app_id] = await store(client, platform, 700)
    player = await buyer(client, app_id, wallet=2000)
    user_id = uuid.UUID(player.id)
    step = await saga.place(ctx, user_id, str(uuid.uuid4()), "wallet")
    await saga.price(ctx, step.order_id, user_id)
    await _backdate(platform, str(step.order_id), updated_at=utcnow() - timedelta(hours=1))
    await recover_once(ctx)
    failed = await order_of(client, player, str(step.order_id))
    assert (failed["status"], failed["failure_reason"]) == ("failed", "no_charge")

    payments = payments_as(platform)
    late = await payments.charge(
        user_id=user_id, order_id=step.order_id, amount=Money(amount=700), method="wallet"
    )
    assert late.status == "succeeded"

    async def given_back() -> bool:
        return await balance(client, player) == 2000

    await eventually(given_back, what="the late charge to be refunded")
    [told] = await outbox(platform, "PaymentSucceeded")
    again = Event(
        type="PaymentSucceeded", producer="payments", key=str(step.order_id), payload=told
    )
    async with ctx.db.session() as session:  # the handler again, as a redelivery past the inbox
        await consumers(ctx)["PaymentSucceeded"](session, again)
    assert await balance(client, player) == 2000
    assert len(await outbox(platform, "PaymentRefunded")) == 1
    charge = await payments.charge_for_order(step.order_id)
    assert charge is not None
    assert charge.refunded == Money(amount=700)
    assert (await order_of(client, player, str(step.order_id)))["status"] == "failed"
    assert await library_of(client, player) == []


async def test_payments_event_for_an_order_the_checkout_paid_costs_no_transaction(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """PaymentSucceeded repeats what the checkout did: the consumer acknowledges it without a
    statement, and so without an inbox row either; a redelivery is acknowledged the same way."""
    ctx = platform.runtimes["purchases"].ctx
    [app_id] = await store(client, platform, 1500)
    player = await buyer(client, app_id)
    order = (await checkout(client, player, method="card", number=SUCCEEDS)).json()
    assert order["status"] == "paid"
    [told] = await outbox(platform, "PaymentSucceeded")
    event = Event(type="PaymentSucceeded", producer="payments", key=order["id"], payload=told)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = {ctx.db.session_engine(write=True), ctx.db.session_engine(write=False)}
    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(2):
            await ctx.events.consumer.handle(event)
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", seen)
    assert statements == []
    inbox = ctx.events.tables.inbox
    async with ctx.db.session(write=False) as session:
        rows = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == event.id)
        )
    assert rows == 0
    assert (await order_of(client, player, order["id"]))["status"] in ("paid", "completed")


async def test_the_player_cancels_an_order_waiting_for_confirmation(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    [app_id] = await store(client, platform, 1500)
    player = await buyer(client, app_id, wallet=5000)
    stranger = await buyer(client)
    order = (await checkout(client, player, method="card", number=NEEDS_CONFIRMATION)).json()
    assert order["status"] == "awaiting_payment"
    cancel = f"{API}/orders/{order['id']}/cancel"
    # Nobody else's to cancel; nothing changes.
    assert (await client.post(cancel, headers=stranger.headers)).status_code == 404
    canceled = await client.post(cancel, headers=player.headers)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "failed"
    assert canceled.json()["failure_reason"] == "canceled"
    # The card can no longer be confirmed, the cart is as it was, the library empty, and a
    # new checkout may start at once (paid from the wallet this time).
    confirm = f"/api/v1/payments/confirmations/{order['charge_id']}"
    assert (await client.post(confirm, headers=player.headers)).status_code == 409
    assert [item["app_id"] for item in (await cart_of(client, player))["items"]] == [app_id]
    assert await library_of(client, player) == []
    assert (await client.post(cancel, headers=player.headers)).status_code == 409
    again = await checkout(client, player)
    assert again.status_code == 201, again.text
    assert again.json()["status"] in ("paid", "completed")
    assert await balance(client, player) == 3500


async def test_every_call_a_checkout_makes_runs_in_process(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded, the saga's calls run the other services' operations directly (none goes
    through a service's app): the cart frozen, its prices asked, the card charged, the cart
    told."""
    [app_id] = await store(client, platform, 1500)
    player = await buyer(client, app_id)
    with service_calls(monkeypatch) as calls:
        order = (await checkout(client, player, method="card", number=SUCCEEDS)).json()
    assert order["status"] == "paid", order
    assert [call.split()[:2] for call in calls] == [
        ["ShoppingClient", "checkout"],
        ["CatalogClient", "sellables"],
        ["PaymentsClient", "charge"],
        ["ShoppingClient", "settled"],
    ]


async def test_a_charge_told_after_its_order_was_paid_still_records_the_charge_and_card(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Payments' event can pay an order before the checkout's own answer arrives with the
    charge and the card: that answer, finding the order paid, still records them."""
    ctx = platform.runtimes["purchases"].ctx
    [app_id] = await store(client, platform, 900)
    player = await buyer(client, app_id)
    user_id = uuid.UUID(player.id)
    step = await saga.place(ctx, user_id, str(uuid.uuid4()), "card")
    await saga.price(ctx, step.order_id, user_id)
    await saga.settle(ctx, step.order_id, ChargeOutcome(status="succeeded"))  # paid, no card
    charge_id = uuid.uuid4()
    late = ChargeOutcome(
        status="succeeded", charge_id=charge_id, amount=900, card_brand="visa", card_last4="4242"
    )
    settled = await saga.settle(ctx, step.order_id, late)
    assert settled is not None
    async with database_of(platform, "purchases").session(write=False) as session:
        stored = await session.get(Order, step.order_id)
    assert stored is not None
    assert (stored.status, stored.charge_id) == ("paid", charge_id)
    assert (stored.card_brand, stored.card_last4) == ("visa", "4242")
