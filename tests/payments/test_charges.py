"""What purchases asks of payments (internal endpoints, through PaymentsClient): charges by
wallet and card, lookup by order, confirmation, cancel, refunds to source."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Conflict, Forbidden, LugxError, NotFound
from lugx.platform.money import Money
from lugx.services.payments.client import PaymentsClient
from lugx.services.payments.schemas import CardIn, ChargeRead
from tests.payments.factories import (
    DECLINED,
    EXPIRED,
    NEEDS_CONFIRMATION,
    NO_FUNDS,
    SUCCEEDS,
    assert_ledger_balanced,
    balance,
    card,
    funded,
    outbox,
    payments_as,
)
from tests.users.factories import Account, signed_up


def a_card(number: str = SUCCEEDS, **changes: object) -> CardIn:
    return CardIn.model_validate(card(number, **changes))


def user_of(account: Account) -> uuid.UUID:
    return uuid.UUID(account.id)


async def by_wallet(payments: PaymentsClient, player: Account, amount: int) -> ChargeRead:
    """A charge of a new order, from the player's wallet."""
    return await payments.charge(
        user_id=user_of(player), order_id=uuid.uuid4(), amount=Money(amount=amount), method="wallet"
    )


async def by_card(
    payments: PaymentsClient, player: Account, amount: int, number: str = SUCCEEDS, **card: object
) -> ChargeRead:
    """A charge of a new order, by card (`card`: changes to the test card's other fields)."""
    return await payments.charge(
        user_id=user_of(player),
        order_id=uuid.uuid4(),
        amount=Money(amount=amount),
        method="card",
        card=a_card(number, **card),
    )


async def test_a_wallet_charge_takes_from_the_wallet(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 5_000)
    payments = payments_as(platform)
    order_id = uuid.uuid4()
    charge = await payments.charge(
        user_id=user_of(player), order_id=order_id, amount=Money(amount=1_999), method="wallet"
    )
    assert (charge.status, charge.method, charge.order_id) == ("succeeded", "wallet", order_id)
    assert charge.refunded == Money(amount=0)
    assert charge.card is None
    assert await balance(client, player) == 3_001
    assert await payments.charge_for_order(order_id) == charge
    assert await payments.charge_for_order(uuid.uuid4()) is None
    assert await outbox(platform, "PaymentSucceeded") == [
        {
            "charge_id": str(charge.id),
            "order_id": str(order_id),
            "user_id": player.id,
            "amount": {"amount": 1_999, "currency": "USD"},
            "method": "wallet",
        }
    ]
    entries = (await client.get("/api/v1/payments/wallet/entries", headers=player.headers)).json()
    assert entries["items"][0]["kind"] == "charge"
    assert entries["items"][0]["direction"] == "debit"
    assert entries["items"][0]["reference_id"] == str(charge.id)
    await assert_ledger_balanced(platform)


async def test_a_wallet_that_cannot_pay_fails_the_charge(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    rich, poor = await signed_up(client), await signed_up(client)
    await funded(client, rich, 1_000)
    payments = payments_as(platform)
    for account, amount in ((rich, 1_001), (poor, 1)):
        charge = await by_wallet(payments, account, amount)
        assert (charge.status, charge.failure_code) == ("failed", "insufficient_funds")
    assert await balance(client, rich) == 1_000
    failed = await outbox(platform, "PaymentFailed")
    assert [event["failure_code"] for event in failed] == ["insufficient_funds"] * 2


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        (SUCCEEDS, "succeeded", None),
        (DECLINED, "failed", "card_declined"),
        (NO_FUNDS, "failed", "insufficient_funds"),
        (EXPIRED, "failed", "expired_card"),
        (NEEDS_CONFIRMATION, "requires_confirmation", None),
    ],
)
async def test_card_charges_answer_per_test_number(
    client: httpx.AsyncClient, platform: Platform, number: str, status: str, code: str | None
) -> None:
    player = await signed_up(client)
    charge = await by_card(payments_as(platform), player, 2_999, number)
    assert (charge.status, charge.failure_code) == (status, code)
    assert charge.card is not None
    assert charge.card.last4 == number[-4:]
    assert await balance(client, player) == 0  # a card payment never touches the wallet
    await assert_ledger_balanced(platform)


async def test_an_invalid_card_is_a_failed_charge_saying_why(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    charge = await by_card(payments_as(platform), player, 500, "4242424242424241", cvc="1")
    assert (charge.status, charge.failure_code) == ("failed", "invalid_card")
    assert charge.failure_message is not None
    assert "card.number" in charge.failure_message
    assert "card.cvc" in charge.failure_message


async def test_a_charge_awaiting_confirmation_completes_when_the_player_confirms(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player, other = await signed_up(client), await signed_up(client)
    payments = payments_as(platform)
    charge = await by_card(payments, player, 1_500, NEEDS_CONFIRMATION)
    url = f"/api/v1/payments/confirmations/{charge.id}"
    assert (await client.post(url, headers=other.headers)).status_code == 404
    assert await outbox(platform, "PaymentSucceeded") == []
    confirmed = await client.post(url, headers=player.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["kind"] == "charge"
    assert confirmed.json()["order_id"] == str(charge.order_id)
    assert (await payments.charge_for_order(charge.order_id)).status == "succeeded"  # type: ignore[union-attr]
    assert (await client.post(url, headers=player.headers)).status_code == 200
    assert len(await outbox(platform, "PaymentSucceeded")) == 1
    with pytest.raises(Conflict):
        await payments.cancel(charge.id)
    await assert_ledger_balanced(platform)


async def test_a_canceled_charge_cannot_be_confirmed(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    payments = payments_as(platform)
    charge = await by_card(payments, player, 1_500, NEEDS_CONFIRMATION)
    assert (await payments.cancel(charge.id)).status == "canceled"
    assert (await payments.cancel(charge.id)).status == "canceled"  # again: the same
    url = f"/api/v1/payments/confirmations/{charge.id}"
    response = await client.post(url, headers=player.headers)
    assert response.status_code == 409
    assert await outbox(platform, "PaymentSucceeded") == []
    with pytest.raises(NotFound):
        await payments.cancel(uuid.uuid4())


async def test_a_charge_replay_returns_the_same_charge(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 5_000)
    payments = payments_as(platform)
    order_id = uuid.uuid4()
    args = {"user_id": user_of(player), "order_id": order_id, "method": "wallet"}
    first = await payments.charge(amount=Money(amount=1_000), **args)  # type: ignore[arg-type]
    assert await payments.charge(amount=Money(amount=1_000), **args) == first  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        await payments.charge(amount=Money(amount=2_000), **args)  # type: ignore[arg-type]
    with pytest.raises(Conflict):  # another key for an order that has its charge
        await payments.charge(amount=Money(amount=1_000), idempotency_key="other", **args)  # type: ignore[arg-type]
    assert await balance(client, player) == 4_000


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"amount": {"amount": 100, "currency": "EUR"}, "method": "wallet"}, 422),
        ({"amount": {"amount": -1, "currency": "USD"}, "method": "wallet"}, 422),
        ({"amount": {"amount": 100, "currency": "USD"}, "method": "card"}, 422),
        ({"amount": {"amount": 100, "currency": "USD"}, "method": "wallet", "card": card()}, 422),
        ({"amount": {"amount": 100, "currency": "USD"}, "method": "cash"}, 422),
    ],
)
async def test_malformed_charges_are_refused(
    client: httpx.AsyncClient, platform: Platform, body: dict[str, object], status: int
) -> None:
    player = await signed_up(client)
    order_id = uuid.uuid4()
    payments = payments_as(platform)
    with pytest.raises(LugxError) as raised:
        await payments.request(
            "POST",
            "/internal/v1/payments/charges",
            json={"user_id": player.id, "order_id": str(order_id), **body},
            headers={"Idempotency-Key": str(order_id)},
        )
    assert raised.value.status == status
    assert await payments.charge_for_order(order_id) is None


async def test_a_charge_needs_an_idempotency_key(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    order_id = uuid.uuid4()
    payments = payments_as(platform)
    with pytest.raises(LugxError) as raised:
        await payments.request(
            "POST",
            "/internal/v1/payments/charges",
            json={
                "user_id": str(uuid.uuid4()),
                "order_id": str(order_id),
                "amount": {"amount": 0, "currency": "USD"},
                "method": "wallet",
            },
        )
    assert raised.value.status == 400
    assert await payments.charge_for_order(order_id) is None


async def test_only_purchases_may_charge(client: httpx.AsyncClient, platform: Platform) -> None:
    player = await signed_up(client)
    with pytest.raises(Forbidden):
        await payments_as(platform, "shopping").charge_for_order(uuid.uuid4())
    with pytest.raises(Forbidden):
        await by_wallet(payments_as(platform, "shopping"), player, 1)
    # The public never reaches the internal endpoints through the gateway.
    response = await client.post("/internal/v1/payments/charges", json={}, headers=player.headers)
    assert response.status_code == 404


# --- refunds ----------------------------------------------------------------------------------


async def test_a_wallet_charge_is_refunded_to_the_wallet_in_parts(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 3_000)
    payments = payments_as(platform)
    charge = await by_wallet(payments, player, 2_000)
    part = await payments.refund(
        charge.id, amount=Money(amount=500), reason="one DLC", idempotency_key="a"
    )
    assert (part.destination, part.amount, part.order_id) == (
        "wallet",
        Money(amount=500),
        charge.order_id,
    )
    assert await balance(client, player) == 1_500
    again = await payments.refund(
        charge.id, amount=Money(amount=500), reason="one DLC", idempotency_key="a"
    )
    assert again == part
    assert await balance(client, player) == 1_500
    with pytest.raises(Conflict):
        await payments.refund(
            charge.id, amount=Money(amount=1_501), reason="too much", idempotency_key="b"
        )
    with pytest.raises(Conflict):  # the same key, another amount
        await payments.refund(
            charge.id, amount=Money(amount=600), reason="one DLC", idempotency_key="a"
        )
    rest = await payments.refund(
        charge.id, amount=Money(amount=1_500), reason="rest", idempotency_key="c"
    )
    assert rest.amount == Money(amount=1_500)
    assert await balance(client, player) == 3_000
    assert (await payments.charge_for_order(charge.order_id)).refunded == Money(amount=2_000)  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        await payments.refund(charge.id, amount=Money(amount=1), reason="more", idempotency_key="d")
    events = await outbox(platform, "PaymentRefunded")
    assert [(e["amount"]["amount"], e["destination"]) for e in events] == [
        (500, "wallet"),
        (1_500, "wallet"),
    ]
    await assert_ledger_balanced(platform)


async def test_a_card_charge_is_refunded_to_the_card(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    payments = payments_as(platform)
    charge = await by_card(payments, player, 999)
    refund = await payments.refund(
        charge.id, amount=Money(amount=999), reason="r", idempotency_key="k"
    )
    assert refund.destination == "card"
    assert await balance(client, player) == 0  # it went back to the card, not the wallet
    await assert_ledger_balanced(platform)


async def test_only_succeeded_charges_are_refunded(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    payments = payments_as(platform)
    failed = await by_card(payments, player, 999, DECLINED)
    with pytest.raises(Conflict):
        await payments.refund(failed.id, amount=Money(amount=1), reason="r", idempotency_key="k")
    with pytest.raises(NotFound):
        await payments.refund(uuid.uuid4(), amount=Money(amount=1), reason="r", idempotency_key="k")
    assert await outbox(platform, "PaymentRefunded") == []
