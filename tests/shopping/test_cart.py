"""The cart: priced by the catalog when asked, never by the client; only the caller's own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.shopping.models import CartItem
from tests.catalog.factories import create_game
from tests.conftest import TEST_DATABASE_URL, database_of, units_of_work
from tests.shopping.factories import (
    CART,
    add_to_cart,
    bundle_of_two,
    cart_of,
    games,
    service_calls,
)
from tests.users.factories import Account, signed_up


async def cart_rows(platform: Platform) -> int:
    async with database_of(platform, "shopping").session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(CartItem)) or 0)


async def test_a_cart_is_priced_by_the_catalog_and_a_client_price_is_ignored(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, (cheap, dear) = await games(client, platform, 999, 2999)
    player = await signed_up(client)
    sent = await add_to_cart(
        client, player, cheap["app_id"], price={"amount": 1, "currency": "USD"}, final_price=1
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["items"][0]["final_price"] == {"amount": 999, "currency": "USD"}
    assert (await add_to_cart(client, player, dear["app_id"])).status_code == 201
    cart = await cart_of(client, player)
    assert [line["app_id"] for line in cart["items"]] == [cheap["app_id"], dear["app_id"]]
    line = cart["items"][0]
    assert line["title"] == cheap["title"]
    assert line["type"] == "game"
    assert line["recipient_id"] is None
    assert line["available"]
    assert not line["owned"]
    assert cart["subtotal"] == {"amount": 3998, "currency": "USD"}
    assert cart["total"]["amount"] == 3998
    assert cart["discount"]["amount"] == 0
    assert cart["coupon"] is None
    assert cart["currency"] == "USD"


async def test_the_price_shown_is_the_price_now(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game,) = await games(client, platform, 2000)
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    changed = await client.patch(
        f"/api/v1/catalog/games/{game['app_id']}",
        json={"price": {"amount": 1500, "currency": "USD"}},
        headers=owner.headers,
    )
    assert changed.status_code == 200
    assert (await cart_of(client, player))["total"]["amount"] == 1500


async def test_removing_a_line(client: httpx.AsyncClient, platform: Platform) -> None:
    _, (one, two) = await games(client, platform, 500, 700)
    player = await signed_up(client)
    await add_to_cart(client, player, one["app_id"])
    await add_to_cart(client, player, two["app_id"])
    gone = await client.delete(f"{CART}/items/{one['app_id']}", headers=player.headers)
    assert gone.status_code == 204
    cart = await cart_of(client, player)
    assert [line["app_id"] for line in cart["items"]] == [two["app_id"]]
    again = await client.delete(f"{CART}/items/{one['app_id']}", headers=player.headers)
    assert again.status_code == 404
    assert again.json()["type"].endswith("/not-in-cart")


async def test_unknown_or_unpublished_games_are_not_found_and_change_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _ = await games(client, platform)
    draft = await create_game(client, owner, publish=False)
    player = await signed_up(client)
    for app_id in (999_999_990, draft["app_id"]):
        response = await add_to_cart(client, player, app_id)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/game-not-found")
    malformed = await client.post(f"{CART}/items", json={"app_id": "x"}, headers=player.headers)
    assert malformed.status_code == 422
    assert await cart_rows(platform) == 0


async def test_a_game_twice_is_a_conflict(client: httpx.AsyncClient, platform: Platform) -> None:
    _, (game,) = await games(client, platform, 1000)
    player = await signed_up(client)
    results = await asyncio.gather(*(add_to_cart(client, player, game["app_id"]) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409, 409]
    assert await cart_rows(platform) == 1


async def test_gifts_go_to_someone_else_who_exists(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, (game, other) = await games(client, platform, 1000, 500)
    player, friend = await signed_up(client), await signed_up(client)
    gift = await add_to_cart(client, player, game["app_id"], gift_for=friend.id)
    assert gift.status_code == 201, gift.text
    assert gift.json()["items"][0]["recipient_id"] == friend.id
    to_self = await add_to_cart(client, player, other["app_id"], gift_for=player.id)
    assert to_self.status_code == 422
    nobody = await add_to_cart(
        client, player, other["app_id"], gift_for="00000000-0000-4000-8000-000000000000"
    )
    assert nobody.status_code == 404
    assert nobody.json()["type"].endswith("/recipient-not-found")
    assert await cart_rows(platform) == 1


async def test_a_cart_is_only_its_owners(client: httpx.AsyncClient, platform: Platform) -> None:
    _, (game,) = await games(client, platform, 1000)
    alice, bob = await signed_up(client), await signed_up(client)
    await add_to_cart(client, alice, game["app_id"])
    assert (await cart_of(client, bob))["items"] == []
    # No endpoint names a cart or a user: a user id in the body or query is ignored.
    await client.post(
        f"{CART}/items", json={"app_id": game["app_id"], "user_id": bob.id}, headers=alice.headers
    )
    assert (await cart_of(client, bob))["items"] == []
    bobs_delete = await client.delete(
        f"{CART}/items/{game['app_id']}", params={"user_id": alice.id}, headers=bob.headers
    )
    assert bobs_delete.status_code == 404
    assert len((await cart_of(client, alice))["items"]) == 1
    assert (await client.get(CART)).status_code == 401
    assert (await client.post(f"{CART}/items", json={"app_id": game["app_id"]})).status_code == 401


async def test_a_bundle_completes_the_set(client: httpx.AsyncClient, platform: Platform) -> None:
    *_, bundle = await bundle_of_two(client, platform)
    player = await signed_up(client)
    assert (await add_to_cart(client, player, bundle["app_id"])).status_code == 201
    line = (await cart_of(client, player))["items"][0]
    assert line["type"] == "bundle"
    assert line["price"]["amount"] == 4000
    assert line["final_price"]["amount"] == 3000
    assert line["discount_percent"] == 25
    catalogs = await client.get(f"/api/v1/catalog/games/{bundle['app_id']}/price")
    assert catalogs.json()["final_price"] == line["final_price"]  # the catalog's own rule


async def test_a_full_cart_takes_no_more(client: httpx.AsyncClient, platform: Platform) -> None:
    from lugx.services.shopping import service

    _, made = await games(client, platform, 100, 200, 300)
    player = await signed_up(client)
    limit = service.MAX_CART_ITEMS
    service.MAX_CART_ITEMS = 2
    try:
        for game in made[:2]:
            assert (await add_to_cart(client, player, game["app_id"])).status_code == 201
        full = await add_to_cart(client, player, made[2]["app_id"])
    finally:
        service.MAX_CART_ITEMS = limit
    assert full.status_code == 409
    assert full.json()["type"].endswith("/cart-full")
    assert await cart_rows(platform) == 2


async def racing_adds(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    player: Account,
    first: int,
    second: int,
) -> list[httpx.Response]:
    """Two adds at once, each held after reading the cart (at its first call to another
    service) until the other has read it too. Calls from any other task (a consumer woken by
    the broker) pass."""
    both_read = asyncio.Barrier(2)
    adds: set[asyncio.Task[Any]] = set()

    async def after_the_read(_call: str) -> None:
        task = asyncio.current_task()
        if task in adds:
            adds.discard(task)  # its first call only
            await asyncio.wait_for(both_read.wait(), timeout=10)

    with service_calls(monkeypatch, before=after_the_read):
        racing = [asyncio.create_task(add_to_cart(client, player, app)) for app in (first, second)]
        adds.update(racing)
        return list(await asyncio.gather(*racing))


async def test_the_same_game_added_twice_at_once_is_one_line(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both adds read the cart (no line yet) before either writes: the cart's one line per app
    lets one in and answers the other 409, with the one line."""
    _, (earlier, game) = await games(client, platform, 500, 1000)
    player = await signed_up(client)
    await add_to_cart(client, player, earlier["app_id"])  # the cart exists
    answers = await racing_adds(client, monkeypatch, player, game["app_id"], game["app_id"])
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["type"].endswith("/already-in-cart")
    assert await cart_rows(platform) == 2


async def test_an_add_answers_with_a_line_another_tab_added_meanwhile(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, (first, other, added) = await games(client, platform, 100, 200, 300)
    player = await signed_up(client)
    await add_to_cart(client, player, first["app_id"])  # the cart exists
    tabs: list[httpx.Response] = []
    opened: list[bool] = []

    async def another_tab(call: str) -> None:
        if call.startswith("CatalogClient") and not opened:
            opened.append(True)  # the other tab's own add passes here too
            tabs.append(await add_to_cart(client, player, other["app_id"]))

    with service_calls(monkeypatch, before=another_tab):
        answer = await add_to_cart(client, player, added["app_id"])
    assert tabs[0].status_code == 201
    assert answer.status_code == 201, answer.text
    lines = [line["app_id"] for line in answer.json()["items"]]
    assert lines == [first["app_id"], other["app_id"], added["app_id"]]


async def test_adds_racing_for_the_last_place_in_a_cart(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read a cart with room for one more line before either writes. The write counts the
    lines as it inserts: on SQLite, whose writers take turns, one gets the place and the other
    a 409 `cart-full`. On PostgreSQL (read committed) both may get it: the limit is a soft one
    there, by at most the adds that race."""
    from lugx.services.shopping import service

    _, (first, one, other) = await games(client, platform, 100, 200, 300)
    player = await signed_up(client)
    monkeypatch.setattr(service, "MAX_CART_ITEMS", 2)
    await add_to_cart(client, player, first["app_id"])
    answers = await racing_adds(client, monkeypatch, player, one["app_id"], other["app_id"])
    codes = sorted(answer.status_code for answer in answers)
    if TEST_DATABASE_URL:
        assert codes in ([201, 201], [201, 409])
        return
    assert codes == [201, 409]
    assert next(a for a in answers if a.status_code == 409).json()["type"].endswith("/cart-full")
    assert await cart_rows(platform) == 2


async def test_a_line_goes_into_an_existing_cart_as_one_statement(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first add makes the cart (a transaction); later ones are one statement each, its own
    transaction."""
    _, (first, second) = await games(client, platform, 100, 200)
    player = await signed_up(client)
    opened = units_of_work(monkeypatch, database_of(platform, "shopping"), here=True)
    assert (await add_to_cart(client, player, first["app_id"])).status_code == 201
    assert [unit["single"] for unit in opened if unit["write"]] == [False]
    opened.clear()
    assert (await add_to_cart(client, player, second["app_id"])).status_code == 201
    assert [unit["single"] for unit in opened if unit["write"]] == [True]
