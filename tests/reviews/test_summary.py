"""Each game's summary: Steam's scale (the pure rule, then through HTTP), kept as reviews come,
change and go, and the catalog's copy kept current by GameReviewSummaryChanged."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from lugx.platform.db import utcnow
from lugx.platform.review_scores import review_description
from lugx.services.catalog.models import Game
from lugx.services.reviews import summaries
from lugx.services.reviews.seed import review_row, write_reviews
from tests.catalog.factories import admin_account
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS, a_game, eventually, owners, post_review


@pytest.mark.parametrize(
    ("total", "positive", "expected"),
    [
        (9, 9, None),  # no score under ten reviews
        (10, 10, "Positive"),
        (49, 40, "Positive"),
        (50, 40, "Very Positive"),
        (499, 499, "Very Positive"),  # 95 %+ but under 500
        (500, 475, "Overwhelmingly Positive"),
        (1000, 949, "Very Positive"),  # 94.9 % is not 95 %
        (100, 79, "Mostly Positive"),
        (100, 70, "Mostly Positive"),
        (100, 69, "Mixed"),
        (100, 40, "Mixed"),
        (100, 39, "Mostly Negative"),
        (100, 20, "Mostly Negative"),
        (49, 9, "Negative"),
        (10, 0, "Negative"),
        (50, 9, "Very Negative"),
        (499, 0, "Very Negative"),
        (500, 99, "Overwhelmingly Negative"),
    ],
)
def test_steams_scale(total: int, positive: int, expected: str | None) -> None:
    assert review_description(total, positive) == expected


async def summary(client: httpx.AsyncClient, app_id: int) -> dict[str, Any]:
    response = await client.get(f"{REVIEWS}/games/{app_id}/summary")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_the_summary_follows_reviews_and_the_catalog_gets_it(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    app_id = game["app_id"]
    players = await owners(client, platform, app_id, 11)
    empty = await summary(client, app_id)
    assert empty["all_time"] == {
        "total": 0,
        "positive": 0,
        "negative": 0,
        "score": None,
        "description": None,
    }
    reviews = [
        await post_review(client, p, app_id, recommended=n < 8) for n, p in enumerate(players[:10])
    ]
    shown = await summary(client, app_id)
    assert shown["all_time"] == {
        "total": 10,
        "positive": 8,
        "negative": 2,
        "score": 80,
        "description": "Positive",
    }
    assert shown["recent"] == shown["all_time"]

    async def catalog_has(total: int, description: str | None) -> bool:
        """The catalog's read model (its database), then its game page. Polling the page itself
        while events land could store a page read just before one of them in the catalog's
        cache for its lifetime; reading it once the change is in has no such race."""
        async with database_of(platform, "catalog").session(write=False) as session:
            stored = (await session.execute(select(Game).where(Game.app_id == app_id))).scalar_one()
        if (stored.review_total, stored.review_description) != (total, description):
            return False
        detail = (await client.get(f"/api/v1/catalog/games/{app_id}")).json()
        page = detail["review_summary"]
        assert (page["total"], page["description"]) == (total, description)
        return True

    await eventually(lambda: catalog_has(10, "Positive"), what="the catalog's copy")

    # A flip (edit), a deletion and a hidden review all move the counts.
    flipped = await client.patch(
        f"{REVIEWS}/{reviews[0]['id']}", json={"recommended": False}, headers=players[0].headers
    )
    assert flipped.status_code == 200
    assert (await summary(client, app_id))["all_time"]["positive"] == 7
    deleted = await client.delete(f"{REVIEWS}/{reviews[9]['id']}", headers=players[9].headers)
    assert deleted.status_code == 204
    after = (await summary(client, app_id))["all_time"]
    assert (after["total"], after["positive"], after["score"]) == (9, 7, None)
    await eventually(lambda: catalog_has(9, None), what="the catalog's copy after a delete")

    admin = await admin_account(client, platform)
    hidden = await client.post(
        f"{REVIEWS}/{reviews[1]['id']}/hide", json={"reason": "spam"}, headers=admin.headers
    )
    assert hidden.status_code == 200
    assert (await summary(client, app_id))["all_time"]["total"] == 8
    await client.post(
        f"{REVIEWS}/{reviews[1]['id']}/restore", json={"reason": "appeal"}, headers=admin.headers
    )
    assert (await summary(client, app_id))["all_time"]["total"] == 9


async def test_recent_counts_only_the_last_thirty_days(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    now = utcnow()
    rows = [
        review_row(
            app_id=90,
            author_id=uuid.uuid4(),
            recommended=n < 12 if n < 20 else n < 28,  # old: 12 of 20 positive
            body="x",
            language="en",
            playtime=1,
            created_at=now - timedelta(days=40 if n < 20 else 2),  # recent: 8 of 12 positive
        )
        for n in range(32)
    ]
    await write_reviews(platform.runtimes["reviews"].ctx, rows)
    shown = await summary(client, 90)
    assert shown["all_time"]["total"] == 32
    assert shown["all_time"]["positive"] == 20
    assert shown["all_time"]["description"] == "Mixed"
    assert (shown["recent"]["total"], shown["recent"]["positive"]) == (12, 8)
    assert shown["recent"]["score"] == 66
    assert shown["recent"]["description"] == "Mixed"


async def test_only_what_moves_the_counts_drops_the_cached_summary(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Votes, comments, text edits and developer responses change what a game's lists show, not
    its counts: the summary the service keeps survives them (the first page it keeps does not,
    so each shows at once); a flip drops it."""
    publisher, game = await a_game(client, platform)
    app_id = game["app_id"]
    author, voter = await owners(client, platform, app_id, 2)
    review = await post_review(client, author, app_id)
    path = f"{REVIEWS}/{review['id']}"
    cache = platform.runtimes["reviews"].ctx.cache

    async def summary_cached() -> bool:
        return await cache.get(summaries.cache_key(app_id)) is not None

    async def first_listed() -> dict[str, Any]:
        listed = await client.get(f"{REVIEWS}/games/{app_id}/reviews")
        first: dict[str, Any] = listed.json()["items"][0]
        return first

    assert (await summary(client, app_id))["all_time"]["positive"] == 1
    await first_listed()  # kept by the service too
    assert await summary_cached()
    Change = Callable[[], Awaitable[httpx.Response]]
    changes: list[tuple[str, Change, Callable[[dict[str, Any]], bool]]] = [
        (
            "a vote",
            lambda: client.put(
                f"{path}/votes/helpful", json={"value": True}, headers=voter.headers
            ),
            lambda shown: bool(shown["votes"]["helpful"] == 1),
        ),
        (
            "a comment",
            lambda: client.post(
                f"{path}/comments", json={"body": "Agreed."}, headers=voter.headers
            ),
            lambda shown: bool(shown["comment_count"] == 1),
        ),
        (
            "a text edit",
            lambda: client.patch(path, json={"body": "Edited."}, headers=author.headers),
            lambda shown: bool(shown["body"] == "Edited."),
        ),
        (
            "a developer response",
            lambda: client.put(
                f"{path}/response", json={"body": "Thanks!"}, headers=publisher.headers
            ),
            lambda shown: bool(shown["developer_response"]["body"] == "Thanks!"),
        ),
    ]
    for what, change, shows in changes:
        response = await change()
        assert response.is_success, (what, response.text)
        assert await summary_cached(), what
        assert shows(await first_listed()), what

    flipped = await client.patch(path, json={"recommended": False}, headers=author.headers)
    assert flipped.status_code == 200, flipped.text
    assert not await summary_cached()
    assert (await summary(client, app_id))["all_time"]["positive"] == 0
    assert (await first_listed())["recommended"] is False
