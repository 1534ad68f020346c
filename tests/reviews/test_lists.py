"""A game's review list: most helpful first by the Wilson bound, newest first, filters, and
signed cursors."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import httpx

from lugx.platform.bootstrap import Platform
from lugx.platform.db import utcnow
from lugx.services.reviews.seed import review_row, write_reviews
from tests.reviews.factories import REVIEWS, a_game, owners, players, post_review, vote, walk


async def listed(client: httpx.AsyncClient, app_id: int, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{REVIEWS}/games/{app_id}/reviews", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_nine_hundred_of_a_thousand_beats_one_of_one(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """The counts come from the bulk loader (a thousand voters through HTTP would be slow);
    the order is the API's."""
    now = utcnow()
    rows = [
        review_row(
            app_id=70,
            author_id=uuid.uuid4(),
            recommended=True,
            body=name,
            language="en",
            playtime=60,
            created_at=now - timedelta(minutes=n),
            helpful_yes=yes,
            helpful_no=no,
        )
        for n, (name, yes, no) in enumerate(
            [("one of one", 1, 0), ("nine hundred of a thousand", 900, 100), ("none", 0, 0)]
        )
    ]
    await write_reviews(platform.runtimes["reviews"].ctx, rows)
    page = await listed(client, 70, sort="helpful")
    assert [r["body"] for r in page["items"]] == [
        "nine hundred of a thousand",
        "one of one",
        "none",
    ]
    assert page["items"][0]["votes"] == {"helpful": 900, "not_helpful": 100, "funny": 0}


async def test_votes_reorder_the_helpful_list_and_recent_lists_newest_first(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    app_id = game["app_id"]
    authors = await owners(client, platform, app_id, 3)
    voters = await players(client, 3)
    first, second, third = [await post_review(client, a, app_id) for a in authors]
    recent = await listed(client, app_id, sort="recent")
    assert [r["id"] for r in recent["items"]] == [third["id"], second["id"], first["id"]]

    await vote(client, voters[0], first["id"], True)  # 1 of 1
    for voter in voters:  # 3 of 3 beats 1 of 1
        await vote(client, voter, second["id"], True)
    await vote(client, voters[1], third["id"], False)
    helpful = await listed(client, app_id)
    assert [r["id"] for r in helpful["items"]] == [second["id"], first["id"], third["id"]]


async def test_filters_and_language(client: httpx.AsyncClient, platform: Platform) -> None:
    _, game = await a_game(client, platform)
    app_id = game["app_id"]
    a, b, c = await owners(client, platform, app_id, 3)
    liked = await post_review(client, a, app_id, recommended=True, language="de")
    disliked = await post_review(client, b, app_id, recommended=False)
    also_liked = await post_review(client, c, app_id, recommended=True)
    positive = await listed(client, app_id, filter="positive")
    assert {r["id"] for r in positive["items"]} == {liked["id"], also_liked["id"]}
    negative = await listed(client, app_id, filter="negative")
    assert [r["id"] for r in negative["items"]] == [disliked["id"]]
    german = await listed(client, app_id, language="de")
    assert [r["id"] for r in german["items"]] == [liked["id"]]
    for bad in ({"sort": "votes"}, {"filter": "mixed"}, {"language": "<x>"}, {"limit": 0}):
        response = await client.get(f"{REVIEWS}/games/{app_id}/reviews", params=bad)
        assert response.status_code == 422, bad


async def test_cursors_walk_every_review_once_and_refuse_tampering(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    rng, now = random.Random(5), utcnow()
    rows = [
        review_row(
            app_id=80,
            author_id=uuid.uuid4(),
            recommended=rng.random() < 0.7,
            body=f"r{n}",
            language="en",
            playtime=1,
            created_at=now - timedelta(minutes=n % 7),  # ties in time
            helpful_yes=(yes := rng.randint(0, 3)),  # ties in score
            helpful_no=rng.randint(0, 2) if yes else 0,
        )
        for n in range(53)
    ]
    await write_reviews(platform.runtimes["reviews"].ctx, rows)
    for sort in ("helpful", "recent"):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 10}
            if cursor:
                params["cursor"] = cursor
            page = await listed(client, 80, **params)
            seen += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(str(r["id"]) for r in rows), sort
        assert len(seen) == len(set(seen)) == 53

    page = await listed(client, 80, limit=10)
    cursor = page["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, "garbage", cursor.split(".")[0]):
        response = await client.get(f"{REVIEWS}/games/80/reviews", params={"cursor": bad})
        assert response.status_code == 400, bad
        assert response.json()["type"].endswith("/invalid-cursor")
    # A cursor of one list is not a cursor of another.
    other = await client.get(
        f"{REVIEWS}/games/80/reviews", params={"cursor": cursor, "sort": "recent"}
    )
    assert other.status_code == 400


async def test_a_full_last_page_says_no_page_follows(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    now = utcnow()
    rows = [
        review_row(
            app_id=81,
            author_id=uuid.uuid4(),
            recommended=True,
            body=f"r{n}",
            language="en",
            playtime=1,
            created_at=now - timedelta(minutes=n),
            helpful_yes=n,
        )
        for n in range(4)
    ]
    await write_reviews(platform.runtimes["reviews"].ctx, rows)
    games = f"{REVIEWS}/games/81/reviews"
    for sort in ("helpful", "recent"):
        pages = await walk(client, games, sort=sort, limit=2)
        assert [len(page["items"]) for page in pages] == [2, 2], sort
        whole = await walk(client, games, sort=sort, limit=4)  # a first page that is the last
        assert [len(page["items"]) for page in whole] == [4], sort

    [reader] = await players(client, 1)
    commented = str(rows[0]["id"])
    for text in ("First.", "Second."):
        made = await client.post(
            f"{REVIEWS}/{commented}/comments", json={"body": text}, headers=reader.headers
        )
        assert made.status_code == 201, made.text
    pages = await walk(client, f"{REVIEWS}/{commented}/comments", limit=1)
    assert [[c["body"] for c in page["items"]] for page in pages] == [["First."], ["Second."]]
