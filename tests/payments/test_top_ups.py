"""Wallet top-ups by card, through the gateway: outcomes, idempotency, bad input, privacy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from lugx.platform.bootstrap import Platform
from lugx.services.payments.models import Base, TopUp
from tests.conftest import database_of
from tests.payments.factories import (
    ALL_TEST_NUMBERS,
    DECLINED,
    EXPIRED,
    NEEDS_CONFIRMATION,
    NO_FUNDS,
    SUCCEEDS,
    TOP_UPS,
    WALLET,
    assert_ledger_balanced,
    balance,
    card,
    outbox,
    post_top_up,
    usd,
)
from tests.users.factories import signed_up


async def count_top_ups(platform: Platform) -> int:
    async with database_of(platform, "payments").session(write=False) as session:
        return len((await session.execute(select(TopUp.id))).all())


async def test_a_good_card_tops_up_the_wallet(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    assert await balance(client, player) == 0
    response = await post_top_up(client, player, 2_500)
    assert response.status_code == 201, response.text
    top_up = response.json()
    assert top_up["status"] == "succeeded"
    assert top_up["amount"] == usd(2_500)
    assert top_up["card"] == {"brand": "visa", "last4": "4242"}
    assert top_up["next_action"] is None
    wallet = (await client.get(WALLET, headers=player.headers)).json()
    assert wallet["balance"] == usd(2_500)
    assert wallet["currency"] == "USD"
    assert wallet["updated_at"] is not None
    events = await outbox(platform, "WalletToppedUp")
    assert events == [
        {"user_id": player.id, "amount": usd(2_500), "top_up_id": top_up["id"]},
    ]
    await assert_ledger_balanced(platform)


@pytest.mark.parametrize(
    ("number", "code"),
    [(DECLINED, "card_declined"), (NO_FUNDS, "insufficient_funds"), (EXPIRED, "expired_card")],
)
async def test_declined_cards_are_a_402_with_the_reason_and_move_nothing(
    client: httpx.AsyncClient, platform: Platform, number: str, code: str
) -> None:
    player = await signed_up(client)
    response = await post_top_up(client, player, number=number)
    assert response.status_code == 402, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["failure_code"] == code
    assert problem["type"].endswith(code.replace("_", "-"))
    assert problem["top_up"]["status"] == "failed"
    assert problem["top_up"]["card"]["last4"] == number[-4:]
    assert await balance(client, player) == 0
    assert await outbox(platform, "WalletToppedUp") == []
    assert await count_top_ups(platform) == 1  # the attempt is on record


async def test_every_test_number_gets_its_documented_answer(client: httpx.AsyncClient) -> None:
    player = await signed_up(client)
    statuses = [
        (await post_top_up(client, player, number=number)).status_code
        for number in ALL_TEST_NUMBERS
    ]
    assert statuses == [201, 402, 402, 402, 201]
    assert await balance(client, player) == 2_000  # only the good card; the 3-D one waits


async def test_a_replay_returns_the_first_answer_and_moves_money_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    first = await post_top_up(client, player, 3_000, key="top-up-1")
    again = await post_top_up(client, player, 3_000, key="top-up-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert await balance(client, player) == 3_000
    declined = await post_top_up(client, player, number=DECLINED, key="top-up-2")
    declined_again = await post_top_up(client, player, number=DECLINED, key="top-up-2")
    assert declined_again.status_code == declined.status_code == 402
    assert declined_again.json() == declined.json()
    assert await count_top_ups(platform) == 2
    assert len(await outbox(platform, "WalletToppedUp")) == 1


async def test_the_same_key_with_another_request_is_a_conflict(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    assert (await post_top_up(client, player, 1_000, key="k")).status_code == 201
    for other in (
        await post_top_up(client, player, 2_000, key="k"),
        await post_top_up(client, player, 1_000, key="k", number="5555555555554444"),
    ):
        assert other.status_code == 409, other.text
        assert other.json()["type"].endswith("idempotency-key-reused")
        assert "different request" in other.json()["detail"]
    assert await balance(client, player) == 1_000


async def test_keys_belong_to_their_user(client: httpx.AsyncClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    assert (await post_top_up(client, alice, 1_000, key="same")).status_code == 201
    assert (await post_top_up(client, bob, 4_000, key="same")).status_code == 201
    assert (await balance(client, alice), await balance(client, bob)) == (1_000, 4_000)


async def test_a_top_up_needs_an_idempotency_key(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    body = {"amount": usd(1_000), "card": card()}
    response = await client.post(TOP_UPS, json=body, headers=player.headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("idempotency-key-required")
    assert await count_top_ups(platform) == 0


@pytest.mark.parametrize(
    "amount",
    [usd(0), usd(-500), usd(499), usd(50_001), usd(10**12), {"amount": 12.5, "currency": "USD"}],
)
async def test_amounts_out_of_bounds_are_refused(
    client: httpx.AsyncClient, platform: Platform, amount: dict[str, Any]
) -> None:
    player = await signed_up(client)
    response = await client.post(
        TOP_UPS,
        json={"amount": amount, "card": card()},
        headers={**player.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith("amount") for e in response.json()["errors"])
    assert await count_top_ups(platform) == 0
    assert await balance(client, player) == 0


@pytest.mark.parametrize("currency", ["EUR", "usd", "XX"])
async def test_only_the_wallet_currency(
    client: httpx.AsyncClient, platform: Platform, currency: str
) -> None:
    player = await signed_up(client)
    response = await client.post(
        TOP_UPS,
        json={"amount": {"amount": 1_000, "currency": currency}, "card": card()},
        headers={**player.headers, "Idempotency-Key": "x"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount.currency"
    assert await count_top_ups(platform) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": "4242424242424241"}, "card.number"),
        ({"number": "4242 4242 4242 4242"}, "card.number"),
        ({"exp_month": 13}, "card.exp_month"),
        ({"exp_year": 2020}, "card.exp_year"),
        ({"cvc": "12"}, "card.cvc"),
        ({"number": "378282246310005", "cvc": "123"}, "card.cvc"),
    ],
)
async def test_card_details_are_checked_field_by_field(
    client: httpx.AsyncClient, platform: Platform, changes: dict[str, Any], field: str
) -> None:
    player = await signed_up(client)
    response = await post_top_up(client, player, card_body=card(**changes))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await count_top_ups(platform) == 0


async def test_no_top_up_without_a_signed_in_player(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOP_UPS, json={"amount": usd(1_000), "card": card()}, headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 401
    assert (await client.get(WALLET)).status_code == 401


async def test_the_card_number_is_stored_nowhere(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    for number in ALL_TEST_NUMBERS:
        await post_top_up(client, player, number=number)
    await post_top_up(client, player, card_body=card("4242424242424241"))  # invalid
    async with database_of(platform, "payments").session(write=False) as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(text(f"SELECT * FROM {table.name}"))).all()  # noqa: S608
            dump = repr(rows)
            for number in (*ALL_TEST_NUMBERS, "4242424242424241"):
                assert number not in dump, table.name
                assert number[:12] not in dump, table.name


async def test_each_player_sees_only_their_own_wallet(client: httpx.AsyncClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    await post_top_up(client, alice, 5_000)
    assert await balance(client, bob) == 0
    entries = await client.get(f"{WALLET}/entries", headers=bob.headers)
    assert entries.json() == {"items": [], "next_cursor": None}
    assert len((await client.get(f"{WALLET}/entries", headers=alice.headers)).json()["items"]) == 1


async def test_the_wallet_history_pages_newest_first(client: httpx.AsyncClient) -> None:
    player = await signed_up(client)
    for amount in (1_000, 2_000, 3_000):
        await post_top_up(client, player, amount)
    first = (await client.get(f"{WALLET}/entries?limit=2", headers=player.headers)).json()
    assert [e["sequence"] for e in first["items"]] == [3, 2]
    assert [e["balance_after"]["amount"] for e in first["items"]] == [6_000, 3_000]
    assert first["items"][0]["direction"] == "credit"
    assert first["items"][0]["kind"] == "top_up"
    second = (
        await client.get(
            f"{WALLET}/entries",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=player.headers,
        )
    ).json()
    assert [e["sequence"] for e in second["items"]] == [1]
    assert second["next_cursor"] is None
    bad = await client.get(
        f"{WALLET}/entries", params={"cursor": first["next_cursor"] + "x"}, headers=player.headers
    )
    assert bad.status_code == 400


# --- the confirmation step ----------------------------------------------------------------------


async def test_a_top_up_that_needs_confirmation_credits_once_confirmed(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    response = await post_top_up(client, player, 4_000, number=NEEDS_CONFIRMATION)
    top_up = response.json()
    assert (response.status_code, top_up["status"]) == (201, "requires_confirmation")
    assert top_up["next_action"]["url"] == f"/api/v1/payments/confirmations/{top_up['id']}"
    assert await balance(client, player) == 0
    confirmed = await client.post(top_up["next_action"]["url"], headers=player.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert confirmed.json()["kind"] == "top_up"
    again = await client.post(top_up["next_action"]["url"], headers=player.headers)
    assert again.status_code == 200
    assert await balance(client, player) == 4_000
    assert len(await outbox(platform, "WalletToppedUp")) == 1
    await assert_ledger_balanced(platform)


async def test_only_the_owner_can_confirm(client: httpx.AsyncClient) -> None:
    owner, other = await signed_up(client), await signed_up(client)
    top_up = (await post_top_up(client, owner, number=NEEDS_CONFIRMATION)).json()
    url = f"/api/v1/payments/confirmations/{top_up['id']}"
    assert (await client.post(url, headers=other.headers)).status_code == 404
    missing = f"/api/v1/payments/confirmations/{uuid.uuid4()}"
    assert (await client.post(missing, headers=owner.headers)).status_code == 404
    assert await balance(client, other) == 0
    assert await balance(client, owner) == 0


async def test_failed_or_expired_ones_cannot_be_confirmed(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    failed = (await post_top_up(client, player, number=DECLINED)).json()["top_up"]
    response = await client.post(
        f"/api/v1/payments/confirmations/{failed['id']}", headers=player.headers
    )
    assert response.status_code == 409
    late = (await post_top_up(client, player, number=NEEDS_CONFIRMATION)).json()
    async with database_of(platform, "payments").session() as session:
        row = await session.get(TopUp, uuid.UUID(late["id"]))
        assert row is not None
        row.confirm_by = datetime(2020, 1, 1, tzinfo=UTC)
    response = await client.post(
        f"/api/v1/payments/confirmations/{late['id']}", headers=player.headers
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("confirmation-expired")
    assert await balance(client, player) == 0


async def test_the_top_up_body_is_strict(client: httpx.AsyncClient, platform: Platform) -> None:
    player = await signed_up(client)
    response = await client.post(
        TOP_UPS,
        json={"amount": usd(1_000), "card": card(), "user_id": str(uuid.uuid4())},
        headers={**player.headers, "Idempotency-Key": "k"},
    )
    assert response.status_code == 422
    assert await count_top_ups(platform) == 0
    assert SUCCEEDS not in response.text
