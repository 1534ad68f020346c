"""Coupons: who may make them, for which games, and what they take off a cart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from lugx.platform.bootstrap import Platform
from lugx.services.shopping.models import Coupon
from tests.catalog.factories import admin_account, publisher_account
from tests.conftest import database_of
from tests.shopping.factories import CART, COUPONS, add_to_cart, cart_of, games, make_coupon
from tests.users.factories import Account, signed_up


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def coupon_count(platform: Platform) -> int:
    async with database_of(platform, "shopping").session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Coupon)) or 0)


async def apply(client: httpx.AsyncClient, account: Account, code: str) -> httpx.Response:
    return await client.post(f"{CART}/coupon", json={"code": code}, headers=account.headers)


async def test_admins_make_coupons_for_any_game_publishers_for_their_own(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    owner, (game,) = await games(client, platform, 1000)
    rival = await publisher_account(client, platform)
    player = await signed_up(client)
    everything = await make_coupon(client, admin, code="WELCOME", percent=15)
    assert everything["app_ids"] == []
    assert everything["percent"] == 15
    assert everything["active"]
    own = await make_coupon(
        client,
        owner,
        code="Studio-5",
        percent=None,
        amount={"amount": 500, "currency": "USD"},
        app_ids=[game["app_id"]],
    )
    assert own["amount"] == {"amount": 500, "currency": "USD"}
    assert own["percent"] is None
    theirs = await client.post(
        COUPONS,
        json={"code": "STEAL", "percent": 50, "app_ids": [game["app_id"]]},
        headers=rival.headers,
    )
    assert theirs.status_code == 403
    assert theirs.json()["type"].endswith("/not-your-game")
    unnamed = await client.post(
        COUPONS, json={"code": "ALL50", "percent": 50}, headers=owner.headers
    )
    assert unnamed.status_code == 422
    by_player = await client.post(
        COUPONS,
        json={"code": "MINE", "percent": 50, "app_ids": [game["app_id"]]},
        headers=player.headers,
    )
    assert by_player.status_code == 403
    unknown = await client.post(
        COUPONS,
        json={"code": "GHOST", "percent": 5, "app_ids": [999_999_990]},
        headers=admin.headers,
    )
    assert unknown.status_code == 404
    assert await coupon_count(platform) == 2


async def test_bad_coupons_are_refused_and_codes_are_case_insensitive(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    await make_coupon(client, admin, code="Summer")
    taken = await client.post(COUPONS, json={"code": "SUMMER", "percent": 5}, headers=admin.headers)
    assert taken.status_code == 409
    assert taken.json()["type"].endswith("/coupon-code-taken")
    now = datetime.now(UTC)
    for body in (
        {"code": "BOTH", "percent": 5, "amount": {"amount": 100, "currency": "USD"}},
        {"code": "NONE"},
        {"code": "BIG", "percent": 101},
        {"code": "ZERO", "percent": 0},
        {"code": "EURO", "amount": {"amount": 100, "currency": "EUR"}},
        {"code": "x", "percent": 5},
        {"code": "has space", "percent": 5},
        {
            "code": "BACK",
            "percent": 5,
            "valid_from": iso(now),
            "valid_until": iso(now - timedelta(1)),
        },
        {"code": "EXTRA", "percent": 5, "bogus": True},
    ):
        response = await client.post(COUPONS, json=body, headers=admin.headers)
        assert response.status_code == 422, body
    assert await coupon_count(platform) == 1


async def test_listing_and_deactivating(client: httpx.AsyncClient, platform: Platform) -> None:
    admin = await admin_account(client, platform)
    owner, (game,) = await games(client, platform, 1000)
    other, (other_game,) = await games(client, platform, 1000)
    mine = await make_coupon(client, owner, app_ids=[game["app_id"]])
    theirs = await make_coupon(client, other, app_ids=[other_game["app_id"]])
    listed = (await client.get(COUPONS, headers=owner.headers)).json()
    assert [c["id"] for c in listed["items"]] == [mine["id"]]
    everyone = (await client.get(COUPONS, params={"limit": 1}, headers=admin.headers)).json()
    assert len(everyone["items"]) == 1
    assert everyone["next_cursor"]
    rest = await client.get(
        COUPONS, params={"limit": 1, "cursor": everyone["next_cursor"]}, headers=admin.headers
    )
    assert {everyone["items"][0]["id"], rest.json()["items"][0]["id"]} == {mine["id"], theirs["id"]}
    assert rest.json()["next_cursor"] is None  # the last page, though full, says so
    not_mine = await client.patch(
        f"{COUPONS}/{theirs['id']}", json={"active": False}, headers=owner.headers
    )
    assert not_mine.status_code == 404
    off = await client.patch(
        f"{COUPONS}/{mine['id']}", json={"active": False}, headers=owner.headers
    )
    assert off.status_code == 200
    assert off.json()["active"] is False
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    refused = await apply(client, player, mine["code"])
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/coupon-inactive")


async def test_a_coupon_takes_its_share_of_the_lines_it_applies_to(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game, other) = await games(client, platform, 2000, 1000)
    coupon = await make_coupon(client, owner, code="HALF", percent=50, app_ids=[game["app_id"]])
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    await add_to_cart(client, player, other["app_id"])
    applied = await apply(client, player, "half")  # any case
    assert applied.status_code == 200, applied.text
    cart = applied.json()
    assert cart["subtotal"]["amount"] == 3000
    assert cart["discount"]["amount"] == 1000
    assert cart["total"]["amount"] == 2000
    assert cart["coupon"]["code"] == coupon["code"]
    assert cart["coupon"]["applied"]
    removed = await client.delete(f"{CART}/coupon", headers=player.headers)
    assert removed.status_code == 204
    assert (await cart_of(client, player))["coupon"] is None


async def test_a_fixed_amount_never_takes_more_than_the_lines(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    _, (game,) = await games(client, platform, 300)
    await make_coupon(
        client, admin, code="FIVER", percent=None, amount={"amount": 500, "currency": "USD"}
    )
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    cart = (await apply(client, player, "FIVER")).json()
    assert cart["discount"]["amount"] == 300
    assert cart["total"]["amount"] == 0


async def test_coupons_that_do_not_apply_are_refused_and_change_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    owner, (game, other) = await games(client, platform, 1000, 1000)
    now = datetime.now(UTC)
    await make_coupon(client, admin, code="LATER", valid_from=iso(now + timedelta(days=1)))
    await make_coupon(
        client, admin, code="BIGSPEND", min_subtotal={"amount": 5000, "currency": "USD"}
    )
    await make_coupon(client, owner, code="OTHERGAME", app_ids=[other["app_id"]])
    expiring = await make_coupon(client, admin, code="OLD")
    async with database_of(platform, "shopping").session() as session:
        await session.execute(
            update(Coupon)
            .where(Coupon.code == "OLD")
            .values(valid_until=now - timedelta(seconds=1))
        )
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    for code, problem in (
        ("LATER", "coupon-not-started"),
        ("BIGSPEND", "coupon-minimum-not-met"),
        ("OTHERGAME", "coupon-not-applicable"),
        ("OLD", "coupon-expired"),
        ("NOSUCH", "coupon-not-found"),
    ):
        response = await apply(client, player, code)
        assert response.status_code in (404, 409), response.text
        assert response.json()["type"].endswith(f"/{problem}"), code
    assert (await cart_of(client, player))["coupon"] is None
    assert expiring["uses"] == 0


async def test_a_coupon_that_stops_applying_shows_why(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_account(client, platform)
    _, (game,) = await games(client, platform, 1000)
    await make_coupon(client, admin, code="SOON-GONE", percent=20)
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    assert (await apply(client, player, "SOON-GONE")).status_code == 200
    async with database_of(platform, "shopping").session() as session:
        await session.execute(
            update(Coupon).values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    cart = await cart_of(client, player)
    assert cart["coupon"]["applied"] is False
    assert "expired" in cart["coupon"]["reason"]
    assert cart["discount"]["amount"] == 0
    assert cart["total"]["amount"] == 1000


async def test_an_unpublished_game_leaves_the_total(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, (game, kept) = await games(client, platform, 1000, 400)
    player = await signed_up(client)
    await add_to_cart(client, player, game["app_id"])
    await add_to_cart(client, player, kept["app_id"])
    await client.patch(
        f"/api/v1/catalog/games/{game['app_id']}",
        json={"status": "unpublished"},
        headers=owner.headers,
    )
    cart = await cart_of(client, player)
    assert [line["available"] for line in cart["items"]] == [False, True]
    assert cart["total"]["amount"] == 400
