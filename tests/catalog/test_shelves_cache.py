"""Shelves for the store front, and HTTP caching of public reads."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from lugx.platform.events import Event
from lugx.services.catalog import repository as repo
from lugx.services.catalog.models import EVENTS, Game
from tests.catalog.factories import add_discount, create_game, publisher_account
from tests.conftest import database_of, newer_then_older


async def test_shelves_show_the_right_games(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = await publisher_account(client, platform)
    today = date.today()
    old = await create_game(
        client, owner, title="Old Classic", release_date="2010-05-01", genres=["rpg"]
    )
    new = await create_game(
        client, owner, title="Fresh Release", release_date=(today - timedelta(days=3)).isoformat()
    )
    soon = await create_game(
        client,
        owner,
        title="Not Yet",
        coming_soon=True,
        release_date=(today + timedelta(days=30)).isoformat(),
    )
    sale = await create_game(client, owner, title="Cheap Now")
    now = datetime.now(UTC)
    await add_discount(
        client, owner, sale["app_id"], 50, now - timedelta(minutes=1), now + timedelta(days=1)
    )

    async def shelf(name: str) -> list[int]:
        response = await client.get(f"/api/v1/catalog/shelves/{name}")
        assert response.status_code == 200, response.text
        return [item["app_id"] for item in response.json()["items"]]

    assert await shelf("new-and-trending") == [new["app_id"]]
    assert await shelf("coming-soon") == [soon["app_id"]]
    assert await shelf("specials") == [sale["app_id"]]
    assert soon["app_id"] not in await shelf("top-sellers")
    assert await shelf("genres/rpg") == [old["app_id"]]
    assert (await client.get("/api/v1/catalog/shelves/genres/nothing")).status_code == 404
    assert (await client.get("/api/v1/catalog/shelves/bestest")).status_code == 422


async def test_game_detail_has_an_etag_and_answers_304(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    url = f"/api/v1/catalog/games/{game['app_id']}"
    first = await client.get(url)
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = await client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    # A change makes a new ETag at once (the cached copy is dropped after commit).
    await client.patch(url, json={"title": "New Title"}, headers=owner.headers)
    changed = await client.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed.json()["title"] == "New Title"
    assert changed.headers["etag"] != etag


async def test_cache_lifetime_stops_at_the_next_price_change(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    now = datetime.now(UTC)
    await add_discount(
        client, owner, game["app_id"], 50, now + timedelta(seconds=20), now + timedelta(days=1)
    )
    response = await client.get(f"/api/v1/catalog/games/{game['app_id']}")
    max_age = int(response.headers["cache-control"].split("max-age=")[1])
    assert 0 < max_age <= 20


async def test_drafts_are_never_publicly_cached(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    draft = await create_game(client, owner, publish=False)
    response = await client.get(f"/api/v1/catalog/games/{draft['app_id']}", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"


async def test_review_summaries_from_the_reviews_service_are_kept(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    before = await client.get(f"/api/v1/catalog/games/{game['app_id']}")  # cached now
    assert before.json()["review_summary"]["score"] is None
    event = Event.model_validate(
        {
            "id": "6f1c7f3e-4b8e-4d3a-9a51-0c1f5b6a7d01",
            "type": "GameReviewSummaryChanged",
            "version": 1,
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "reviews",
            "key": str(game["app_id"]),
            "payload": {
                "app_id": game["app_id"],
                "total": 640,
                "positive": 620,
                "score": 96,
                "description": "Overwhelmingly Positive",
                "recent_score": 90,
                "recent_description": "Very Positive",
            },
        }
    )
    bus = platform.runtimes["catalog"].ctx.events
    await bus.consumer.handle(event)
    await bus.consumer.handle(event)  # redelivered: changes nothing more
    # The cached page was dropped when the change committed: the new score shows at once.
    summary = (await client.get(f"/api/v1/catalog/games/{game['app_id']}")).json()["review_summary"]
    assert summary["score"] == 96
    assert summary["description"] == "Overwhelmingly Positive"
    assert summary["recent_description"] == "Very Positive"
    # Applied, the change is announced again (edge caches that re-cached the page in between
    # drop it): one GameUpdated per delivery that changed something, none for the duplicate.
    async with database_of(platform, "catalog").session(write=False) as session:
        rows = (await session.execute(select(EVENTS.outbox))).all()
    updates = [orjson.loads(r.payload)["changed"] for r in rows if r.type == "GameUpdated"]
    assert updates.count(["review_summary"]) == 1


def summary_event(app_id: int, revision: int, *, total: int, positive: int) -> Event:
    """The reviews service's `GameReviewSummaryChanged` for a game, at `revision`."""
    return Event.model_validate(
        {
            "id": str(uuid.uuid4()),
            "type": "GameReviewSummaryChanged",
            "version": 1,
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "reviews",
            "key": str(app_id),
            "payload": {
                "app_id": app_id,
                "total": total,
                "positive": positive,
                "score": 100 * positive // total,
                "description": "Mixed",
                "recent_score": None,
                "recent_description": None,
                "revision": revision,
            },
        }
    )


async def test_an_older_review_summary_arriving_late_is_ignored(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)

    bus = platform.runtimes["catalog"].ctx.events
    await bus.consumer.handle(summary_event(game["app_id"], 5, total=50, positive=25))
    await bus.consumer.handle(
        summary_event(game["app_id"], 3, total=30, positive=15)
    )  # older, delivered after the newer one
    shown = (await client.get(f"/api/v1/catalog/games/{game['app_id']}")).json()
    assert shown["review_summary"]["total"] == 50


async def test_two_summaries_delivered_at_once_leave_the_newer(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deliveries racing (a redelivery, two catalog processes): the newer one reads the
    game and holds on before committing while the older one reads it too. The older must not
    read the old revision and write its summary over the newer one: it waits for the newer
    one's lock (PostgreSQL) or its turn as the one writer (SQLite), then sees it is older."""
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    bus = platform.runtimes["catalog"].ctx.events
    await newer_then_older(
        monkeypatch,
        repo,
        "game_by_app_id",
        lambda: bus.consumer.handle(summary_event(game["app_id"], 7, total=70, positive=63)),
        lambda: bus.consumer.handle(summary_event(game["app_id"], 6, total=60, positive=30)),
    )
    shown = (await client.get(f"/api/v1/catalog/games/{game['app_id']}")).json()
    assert shown["review_summary"]["total"] == 70
    async with database_of(platform, "catalog").session(write=False) as session:
        stored = (
            await session.execute(select(Game).where(Game.app_id == game["app_id"]))
        ).scalar_one()
    assert (stored.review_revision, stored.review_total) == (7, 70)
