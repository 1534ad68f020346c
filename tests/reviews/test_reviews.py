"""Writing, editing and deleting reviews: who may, what is kept, and every bad input refused
with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.reviews.models import Review
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS, a_game, owners, post_review
from tests.users.factories import signed_up


async def review_count(platform: Platform) -> int:
    async with database_of(platform, "reviews").session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(Review))).scalar_one())


async def test_an_owner_reviews_a_game_once_and_sees_it_as_written(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [player] = await owners(client, platform, game["app_id"], 1)
    text = "Great <b>game</b> <script>alert('x')</script> & more"
    review = await post_review(
        client, player, game["app_id"], recommended=False, body=text, language="pt-BR"
    )
    assert review["body"] == text  # stored and returned exactly as typed: plain text
    assert review["recommended"] is False
    assert review["language"] == "pt-BR"
    assert review["received_for_free"] is True  # a product key
    assert review["early_access"] is False
    assert review["playtime_at_review"] == 0
    assert review["playtime_at_edit"] is None
    assert review["author_id"] == player.id
    shown = await client.get(f"{REVIEWS}/{review['id']}")
    assert shown.headers["content-type"] == "application/json"  # never text/html
    assert shown.json()["body"] == text
    mine = await client.get(
        f"{REVIEWS}/games/{game['app_id']}/reviews/mine", headers=player.headers
    )
    assert mine.json()["id"] == review["id"]

    second = await post_review(client, player, game["app_id"], expect=409)
    assert second["type"].endswith("/already-reviewed")
    assert await review_count(platform) == 1


async def test_early_access_free_claims_and_playtime_are_recorded(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(
        client, platform, early_access=True, price={"amount": 0, "currency": "USD"}
    )
    player = await signed_up(client)
    claimed = await client.post(
        f"/api/v1/purchases/library/{game['app_id']}/claim", headers=player.headers
    )
    assert claimed.status_code == 201, claimed.text
    ended = datetime.now(UTC) - timedelta(minutes=1)
    played = await client.post(
        f"/api/v1/purchases/library/{game['app_id']}/playtime",
        json={
            "started_at": (ended - timedelta(minutes=95)).isoformat(),
            "ended_at": ended.isoformat(),
        },
        headers=player.headers,
    )
    assert played.status_code == 200, played.text
    review = await post_review(client, player, game["app_id"])
    assert review["early_access"] is True
    assert review["received_for_free"] is True
    assert review["playtime_at_review"] == 95


async def test_only_owners_review_and_only_games_that_exist(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    stranger = await signed_up(client)
    refused = await post_review(client, stranger, game["app_id"], expect=403)
    assert refused["type"].endswith("/not-owned")
    missing = await post_review(client, stranger, 999_999_990, expect=404)
    assert missing["status"] == 404
    anonymous = await client.post(
        f"{REVIEWS}/games/{game['app_id']}/reviews", json={"recommended": True, "body": "x"}
    )
    assert anonymous.status_code == 401
    assert await review_count(platform) == 0


async def test_bad_texts_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [player] = await owners(client, platform, game["app_id"], 1)
    for body in (
        {"recommended": True, "body": "x" * 100_000},
        {"recommended": True, "body": "   "},
        {"recommended": True, "body": "nul \x00 byte"},
        {"recommended": True, "body": "fine", "language": "klingon!"},
        {"recommended": "maybe", "body": "fine"},
        {"body": "no verdict"},
        {"recommended": True, "body": "fine", "author_id": player.id},
    ):
        response = await client.post(
            f"{REVIEWS}/games/{game['app_id']}/reviews", json=body, headers=player.headers
        )
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert await review_count(platform) == 0
    accepted = await post_review(client, player, game["app_id"], body="y" * 8_000)
    assert len(accepted["body"]) == 8_000


async def test_the_author_edits_and_deletes_and_nobody_else_can(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    author, other = await owners(client, platform, game["app_id"], 2)
    review = await post_review(client, author, game["app_id"], recommended=True)
    path = f"{REVIEWS}/{review['id']}"

    edited = await client.patch(
        path, json={"recommended": False, "body": "Changed my mind."}, headers=author.headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["recommended"] is False
    assert edited.json()["body"] == "Changed my mind."
    assert edited.json()["edited_at"] is not None
    assert edited.json()["playtime_at_edit"] == 0

    assert (
        await client.patch(path, json={"body": "mine now"}, headers=other.headers)
    ).status_code == 403
    assert (await client.delete(path, headers=other.headers)).status_code == 403
    too_long = await client.patch(path, json={"body": "z" * 8_001}, headers=author.headers)
    assert too_long.status_code == 422
    assert (await client.get(path)).json()["body"] == "Changed my mind."

    assert (await client.delete(path, headers=author.headers)).status_code == 204
    assert (await client.get(path)).status_code == 404
    assert await review_count(platform) == 0
    await post_review(client, author, game["app_id"])  # may write a new one afterwards


async def test_the_publisher_posts_one_public_response(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    publisher, game = await a_game(client, platform)
    rival, _ = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    review = await post_review(client, author, game["app_id"])
    path = f"{REVIEWS}/{review['id']}/response"

    for outsider in (author, rival):
        refused = await client.put(path, json={"body": "Thanks!"}, headers=outsider.headers)
        assert refused.status_code == 403, refused.text
    first = await client.put(path, json={"body": "Thanks!"}, headers=publisher.headers)
    assert first.status_code == 200, first.text
    assert first.json()["developer_response"]["body"] == "Thanks!"
    again = await client.put(path, json={"body": "Fixed in 1.1"}, headers=publisher.headers)
    assert again.json()["developer_response"]["body"] == "Fixed in 1.1"  # one response, replaced
    shown = (await client.get(f"{REVIEWS}/{review['id']}")).json()
    assert shown["developer_response"]["body"] == "Fixed in 1.1"
    removed = await client.delete(path, headers=publisher.headers)
    assert removed.json()["developer_response"] is None
