"""Helpful and funny votes: one of each per player and review, replaced or removed, never on
one's own review; races that really race."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.reviews.models import ReviewVote
from lugx.services.reviews.scoring import wilson_lower_bound
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS, a_game, owners, players, post_review, vote


async def stored_votes(platform: Platform) -> int:
    async with database_of(platform, "reviews").session(write=False) as session:
        return int(
            (await session.execute(select(func.count()).select_from(ReviewVote))).scalar_one()
        )


def test_the_wilson_bound_ranks_strong_evidence_above_a_single_vote() -> None:
    assert wilson_lower_bound(900, 1000) > wilson_lower_bound(1, 1)
    assert wilson_lower_bound(1, 1) == pytest.approx(0.2065, abs=1e-4)
    assert wilson_lower_bound(900, 1000) == pytest.approx(0.8797, abs=1e-3)
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(0, 5) == 0.0
    with pytest.raises(ValueError, match="between 0 and the total"):
        wilson_lower_bound(3, 2)


async def test_a_second_vote_replaces_the_first_and_can_be_removed(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    [voter] = await players(client, 1)
    review = await post_review(client, author, game["app_id"])

    first = await vote(client, voter, review["id"], True)
    assert first["votes"] == {"helpful": 1, "not_helpful": 0, "funny": 0}
    assert first["helpfulness"] == pytest.approx(wilson_lower_bound(1, 1), abs=1e-6)
    second = await vote(client, voter, review["id"], False)
    assert second["votes"] == {"helpful": 0, "not_helpful": 1, "funny": 0}
    assert second["helpfulness"] == 0.0
    funny = await client.put(f"{REVIEWS}/{review['id']}/votes/funny", headers=voter.headers)
    assert funny.json()["votes"] == {"helpful": 0, "not_helpful": 1, "funny": 1}
    again = await client.put(f"{REVIEWS}/{review['id']}/votes/funny", headers=voter.headers)
    assert again.json()["votes"]["funny"] == 1  # one funny vote per player
    assert await stored_votes(platform) == 2

    removed = await client.delete(f"{REVIEWS}/{review['id']}/votes/helpful", headers=voter.headers)
    assert removed.json()["votes"] == {"helpful": 0, "not_helpful": 0, "funny": 1}
    await client.delete(f"{REVIEWS}/{review['id']}/votes/funny", headers=voter.headers)
    shown = (await client.get(f"{REVIEWS}/{review['id']}")).json()
    assert shown["votes"] == {"helpful": 0, "not_helpful": 0, "funny": 0}
    assert await stored_votes(platform) == 0


async def test_nobody_votes_on_their_own_review_or_with_a_bad_body(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    [voter] = await players(client, 1)
    review = await post_review(client, author, game["app_id"])
    own = await vote(client, author, review["id"], True, expect=403)
    assert own["type"].endswith("/own-review")
    funny = await client.put(f"{REVIEWS}/{review['id']}/votes/funny", headers=author.headers)
    assert funny.status_code == 403
    for body in ({"value": "yes"}, {}, {"value": True, "user_id": voter.id}):
        response = await client.put(
            f"{REVIEWS}/{review['id']}/votes/helpful", json=body, headers=voter.headers
        )
        assert response.status_code == 422, body
    missing = await client.put(
        f"{REVIEWS}/00000000-0000-4000-8000-000000000000/votes/helpful",
        json={"value": True},
        headers=voter.headers,
    )
    assert missing.status_code == 404
    anonymous = await client.put(f"{REVIEWS}/{review['id']}/votes/helpful", json={"value": True})
    assert anonymous.status_code == 401
    assert await stored_votes(platform) == 0
    shown = (await client.get(f"{REVIEWS}/{review['id']}")).json()
    assert shown["votes"] == {"helpful": 0, "not_helpful": 0, "funny": 0}


async def test_twenty_players_voting_at_once_leave_exact_counters(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    voters = await players(client, 20)
    review = await post_review(client, author, game["app_id"])
    results = await asyncio.gather(
        *(
            client.put(
                f"{REVIEWS}/{review['id']}/votes/helpful",
                json={"value": n % 4 != 0},
                headers=voter.headers,
            )
            for n, voter in enumerate(voters)
        )
    )
    assert [r.status_code for r in results] == [200] * 20
    shown = (await client.get(f"{REVIEWS}/{review['id']}")).json()
    assert shown["votes"] == {"helpful": 15, "not_helpful": 5, "funny": 0}
    assert shown["helpfulness"] == pytest.approx(wilson_lower_bound(15, 20), abs=1e-6)
    assert await stored_votes(platform) == 20


async def test_one_player_voting_many_times_at_once_leaves_one_vote(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    [voter] = await players(client, 1)
    review = await post_review(client, author, game["app_id"])
    results = await asyncio.gather(
        *(
            client.put(
                f"{REVIEWS}/{review['id']}/votes/helpful",
                json={"value": True},
                headers=voter.headers,
            )
            for _ in range(10)
        )
    )
    assert [r.status_code for r in results] == [200] * 10
    shown = (await client.get(f"{REVIEWS}/{review['id']}")).json()
    assert shown["votes"] == {"helpful": 1, "not_helpful": 0, "funny": 0}
    assert await stored_votes(platform) == 1
