"""Publishers list, edit, publish and unpublish their own games, and only theirs."""

from __future__ import annotations

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.catalog.models import EVENTS, Game
from tests.catalog.factories import admin_account, create_game, publisher_account
from tests.conftest import database_of
from tests.users.factories import signed_up


async def outbox_types(platform: Platform) -> list[str]:
    async with database_of(platform, "catalog").session(write=False) as session:
        return list((await session.execute(select(EVENTS.outbox.c.type))).scalars())


async def count_games(platform: Platform) -> int:
    async with database_of(platform, "catalog").session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(Game))).scalar_one())


async def test_a_publisher_creates_and_publishes_a_game(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform, "Black Mesa Games")
    draft = await create_game(
        client,
        studio,
        publish=False,
        title="Half-Life: Alyx",
        developers=["Valve"],
        platforms=["windows", "linux"],
        features=["single_player", "vr"],
        regional_prices={"EUR": 1899},
        system_requirements={"minimum": {"os": "Windows 10", "memory": "12 GB RAM"}},
    )
    assert draft["status"] == "draft"
    assert draft["slug"] == "half-life-alyx"
    assert isinstance(draft["app_id"], int)
    assert draft["publisher"] == "Black Mesa Games"
    assert draft["platforms"] == ["windows", "linux"]
    assert draft["features"] == ["single_player", "vr"]
    assert draft["header_image"] == f"/api/v1/catalog/media/{draft['app_id']}/header.svg"
    # A draft is invisible to the public...
    assert (await client.get(f"/api/v1/catalog/games/{draft['app_id']}")).status_code == 404
    published = await client.patch(
        f"/api/v1/catalog/games/{draft['app_id']}",
        json={"status": "published"},
        headers=studio.headers,
    )
    assert published.status_code == 200
    # ...and public once published.
    public = await client.get(f"/api/v1/catalog/games/{draft['app_id']}")
    assert public.status_code == 200
    body = public.json()
    assert body["title"] == "Half-Life: Alyx"
    assert body["price"] == {"amount": 1999, "currency": "USD"}
    assert body["final_price"] == {"amount": 1999, "currency": "USD"}
    assert body["system_requirements"]["minimum"]["memory"] == "12 GB RAM"
    assert [t["slug"] for t in body["tags"]] == ["pixel-graphics", "singleplayer"]
    assert "GamePublished" in await outbox_types(platform)


async def test_players_cannot_publish(client: httpx.AsyncClient, platform: Platform) -> None:
    player = await signed_up(client)
    response = await client.post(
        "/api/v1/catalog/games",
        json={"title": "Nope", "price": {"amount": 100, "currency": "USD"}},
        headers=player.headers,
    )
    assert response.status_code == 403
    assert await count_games(platform) == 0


async def test_a_publisher_cannot_touch_another_publishers_game(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    rival = await publisher_account(client, platform)
    game = await create_game(client, owner)
    url = f"/api/v1/catalog/games/{game['app_id']}"
    for method, path, body in (
        ("PATCH", url, {"title": "Stolen"}),
        ("PATCH", url, {"status": "unpublished"}),
        (
            "POST",
            f"{url}/discounts",
            {"percent": 50, "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"},
        ),
    ):
        response = await client.request(method, path, json=body, headers=rival.headers)
        assert response.status_code == 403, path
    assert (await client.get(url)).json()["title"] == game["title"]


async def test_an_admin_can_edit_any_game(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = await publisher_account(client, platform)
    admin = await admin_account(client, platform)
    game = await create_game(client, owner)
    response = await client.patch(
        f"/api/v1/catalog/games/{game['app_id']}",
        json={"title": "Renamed by staff"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed by staff"


async def test_unpublishing_hides_the_game(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    url = f"/api/v1/catalog/games/{game['app_id']}"
    response = await client.patch(url, json={"status": "unpublished"}, headers=owner.headers)
    assert response.status_code == 200
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    assert "GameUnpublished" in await outbox_types(platform)


async def test_dlc_and_bundles_link_to_their_games(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    base = await create_game(client, owner, title="Portal")
    other = await create_game(
        client, owner, title="Portal 2", price={"amount": 999, "currency": "USD"}
    )
    dlc = await create_game(
        client,
        owner,
        type="dlc",
        title="Portal: Extra Chambers",
        base_game=base["app_id"],
        price={"amount": 299, "currency": "USD"},
    )
    bundle = await create_game(
        client,
        owner,
        type="bundle",
        title="The Orange Box",
        bundle_items=[base["app_id"], other["app_id"]],
        bundle_discount_percent=25,
        price={"amount": 0, "currency": "USD"},
    )
    base_page = (await client.get(f"/api/v1/catalog/games/{base['app_id']}")).json()
    assert [d["app_id"] for d in base_page["dlc"]] == [dlc["app_id"]]
    assert base_page["bundles"] == [bundle["app_id"]]
    bundle_page = (await client.get(f"/api/v1/catalog/games/{bundle['app_id']}")).json()
    assert bundle_page["bundle_items"] == [base["app_id"], other["app_id"]]
    price = (await client.get(f"/api/v1/catalog/games/{bundle['app_id']}/price")).json()
    # Complete the set: (19.99 + 9.99) less 25 % = 22.49 (rounded half up from 22.485).
    assert price["price"] == {"amount": 2998, "currency": "USD"}
    assert price["final_price"] == {"amount": 2249, "currency": "USD"}
    assert price["discount_percent"] == 25
    # A change to the DLC or to a bundled game names the games whose pages show it.
    for changed, related in ((dlc, [base["app_id"]]), (base, [bundle["app_id"]])):
        response = await client.patch(
            f"/api/v1/catalog/games/{changed['app_id']}",
            json={"short_description": "Now with more cake."},
            headers=owner.headers,
        )
        assert response.status_code == 200, response.text
        async with database_of(platform, "catalog").session(write=False) as session:
            outbox = EVENTS.outbox  # oldest first: PostgreSQL returns rows in no set order
            rows = (await session.execute(select(outbox).order_by(outbox.c.occurred_at))).all()
        updated = [
            orjson.loads(r.payload)
            for r in rows
            if r.type == "GameUpdated" and orjson.loads(r.payload)["app_id"] == changed["app_id"]
        ]
        assert updated[-1]["changed"] == ["short_description"]
        assert updated[-1]["related_app_ids"] == related


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "price": {"amount": 100, "currency": "USD"}},
        {"title": "x" * 201},
        {"title": "Negative", "price": {"amount": -1, "currency": "USD"}},
        {"title": "Absurd", "price": {"amount": 10_000_000_01, "currency": "USD"}},
        {"title": "Euro base", "price": {"amount": 100, "currency": "EUR"}},
        {"title": "Bad genre", "genres": ["not-a-genre"]},
        {"title": "Bad platform", "platforms": ["amiga"]},
        {"title": "Orphan DLC", "type": "dlc"},
        {"title": "Lonely bundle", "type": "bundle", "bundle_items": [10]},
        {"title": "Unknown base", "type": "dlc", "base_game": 999999990},
        {"title": "Extra field", "popularity": 1_000_000},
        {"title": "Bad image", "header_image": "javascript:alert(1)"},
    ],
)
async def test_bad_listings_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, platform: Platform, body: dict[str, object]
) -> None:
    owner = await publisher_account(client, platform)
    response = await client.post("/api/v1/catalog/games", json=body, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await count_games(platform) == 0


async def test_html_in_titles_is_kept_as_plain_text(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, title="<script>alert('x')</script> Quest")
    body = (await client.get(f"/api/v1/catalog/games/{game['app_id']}")).json()
    assert body["title"] == "<script>alert('x')</script> Quest"
    assert body["slug"] == "script-alert-x-script-quest"
    svg = await client.get(body["header_image"])
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<script>" not in svg.content
    assert b"&lt;script&gt;" in svg.content


async def test_a_price_change_is_an_event_with_old_and_new(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    response = await client.patch(
        f"/api/v1/catalog/games/{game['app_id']}",
        json={"price": {"amount": 999, "currency": "USD"}},
        headers=owner.headers,
    )
    assert response.json()["final_price"]["amount"] == 999
    async with database_of(platform, "catalog").session(write=False) as session:
        rows = (await session.execute(select(EVENTS.outbox))).all()
    [changed] = [orjson.loads(r.payload) for r in rows if r.type == "GamePriceChanged"]
    assert changed["old_price"] == 1999
    assert changed["new_price"] == 999
