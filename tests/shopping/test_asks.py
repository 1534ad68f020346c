"""What the cart asks other services, and when: the catalog once per request, purchases once
per future owner, and never while the shopping service holds its writer."""

from __future__ import annotations

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import admin_account
from tests.purchases.factories import buyer, paid_order
from tests.shopping.factories import (
    CART,
    COUPONS,
    WISHLIST,
    add_to_cart,
    bundle_of_two,
    cart_of,
    games,
    make_coupon,
    service_calls,
    writer_free,
)
from tests.users.factories import signed_up

SELLABLES = "CatalogClient sellables"  # run in-process (ServiceClient.run_local)


def owned_asks(calls: list[str]) -> list[str]:
    return [call for call in calls if call.startswith("PurchasesClient owned")]


def catalog_asks(calls: list[str]) -> list[str]:
    return [call for call in calls if call.startswith("CatalogClient")]


async def test_an_addition_asks_the_catalog_once_and_purchases_once_per_owner(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, (one, two, three) = await games(client, platform, 1000, 2000, 3000)
    player, friend = await signed_up(client), await signed_up(client)
    assert (await add_to_cart(client, player, one["app_id"])).status_code == 201
    with service_calls(monkeypatch) as calls:
        added = await add_to_cart(client, player, two["app_id"])
    assert added.status_code == 201, added.text
    assert catalog_asks(calls) == [SELLABLES]
    assert len(owned_asks(calls)) == 1  # the new game and the line already there, at once
    assert [line["app_id"] for line in added.json()["items"]] == [one["app_id"], two["app_id"]]
    assert added.json()["total"]["amount"] == 3000
    with service_calls(monkeypatch) as calls:
        gift = await add_to_cart(client, player, three["app_id"], gift_for=friend.id)
    assert gift.status_code == 201, gift.text
    assert catalog_asks(calls) == [SELLABLES]
    owners = owned_asks(calls)
    assert len(owners) == 2  # the buyer's lines, and the recipient's
    assert sorted(owner for owner in (player.id, friend.id) if any(owner in c for c in owners)) == (
        sorted([player.id, friend.id])
    )
    with service_calls(monkeypatch) as calls:
        cart = await cart_of(client, player)
    assert catalog_asks(calls) == [SELLABLES]
    assert len(owned_asks(calls)) == 2
    assert cart["total"]["amount"] == 6000


async def test_a_bundle_is_priced_for_what_its_future_owner_lacks(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, bundle = await bundle_of_two(client, platform)
    player = await buyer(client, one["app_id"], wallet=5000)
    await paid_order(client, player)  # the player owns `one` now
    with service_calls(monkeypatch) as calls:
        added = await add_to_cart(client, player, bundle["app_id"])
    assert added.status_code == 201, added.text
    assert catalog_asks(calls) == [SELLABLES]  # the bundle's items come with it
    assert len(owned_asks(calls)) == 1  # asked once, about the bundle and its items
    line = added.json()["items"][0]
    assert (line["price"]["amount"], line["final_price"]["amount"]) == (3000, 2250)
    assert not line["owned"]
    assert (await cart_of(client, player))["items"][0] == line
    # A gift is priced for its recipient; for yourself, for you.
    friend = await signed_up(client)
    gift = await add_to_cart(client, friend, bundle["app_id"], gift_for=player.id)
    assert gift.json()["items"][0]["final_price"]["amount"] == 2250
    stranger = await signed_up(client)
    whole = await add_to_cart(client, stranger, bundle["app_id"])
    assert whole.json()["items"][0]["final_price"]["amount"] == 3000
    # Owning every item of it, the bundle is refused.
    await client.delete(f"{CART}/items/{bundle['app_id']}", headers=player.headers)
    assert (await add_to_cart(client, player, two["app_id"])).status_code == 201
    await paid_order(client, player)
    again = await add_to_cart(client, player, bundle["app_id"])
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-owned")


async def test_applying_a_coupon_prices_the_cart_once(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, (game,) = await games(client, platform, 2000)
    await make_coupon(client, owner, code="ONCEONLY", percent=10, app_ids=[game["app_id"]])
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    with service_calls(monkeypatch) as calls:
        applied = await client.post(
            f"{CART}/coupon", json={"code": "onceonly"}, headers=player.headers
        )
    assert applied.status_code == 200, applied.text
    assert catalog_asks(calls) == [SELLABLES]
    assert len(owned_asks(calls)) == 1
    assert applied.json()["coupon"]["applied"] is True
    assert applied.json()["total"]["amount"] == 1800


async def test_no_other_service_is_asked_while_the_writer_is_held(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a write holds the service's one writer: a call out while holding it would
    stop every other write of the service meanwhile (here: never get it back)."""
    admin = await admin_account(client, platform)
    owner, (game, other) = await games(client, platform, 2000, 1000)
    player, friend = await signed_up(client), await signed_up(client)
    with service_calls(monkeypatch, before=writer_free(platform)) as calls:
        assert (await add_to_cart(client, player, game["app_id"])).status_code == 201
        gift = await add_to_cart(client, player, other["app_id"], gift_for=friend.id)
        assert gift.status_code == 201
        made = await client.post(
            COUPONS,
            json={"code": "WRITER", "percent": 10, "app_ids": [game["app_id"]]},
            headers=owner.headers,
        )
        assert made.status_code == 201, made.text
        by_admin = await client.post(
            COUPONS, json={"code": "ADMINS", "percent": 5}, headers=admin.headers
        )
        assert by_admin.status_code == 201, by_admin.text
        applied = await client.post(
            f"{CART}/coupon", json={"code": "WRITER"}, headers=player.headers
        )
        assert applied.status_code == 200, applied.text
        wished = await client.post(
            f"{WISHLIST}/items", json={"app_id": game["app_id"]}, headers=friend.headers
        )
        assert wished.status_code == 201, wished.text
        assert wished.json()[0]["final_price"]["amount"] == 2000
        alert = await client.put(
            f"{WISHLIST}/items/{game['app_id']}/alert",
            json={"target_price": {"amount": 1500, "currency": "USD"}},
            headers=friend.headers,
        )
        assert alert.status_code == 200, alert.text
        assert alert.json()[0]["alert_target"]["amount"] == 1500
    assert catalog_asks(calls)  # they did ask
