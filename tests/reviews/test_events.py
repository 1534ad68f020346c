"""The reviews service's events as a consumer sees them: one per change, keyed by the game (so
one game's events stay in order), with exactly the payloads docs/reviews.md promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import admin_account
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS, a_game, post_review
from tests.users.factories import signed_up


async def published(platform: Platform) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, key, payload) of every event in the reviews service's outbox, oldest first."""
    table = platform.runtimes["reviews"].spec.event_tables.outbox
    async with database_of(platform, "reviews").session(write=False) as session:
        rows = await session.execute(
            select(table.c.type, table.c.key, table.c.payload).order_by(table.c.occurred_at)
        )
        return [(kind, key, orjson.loads(payload)) for kind, key, payload in rows]


async def test_each_change_publishes_what_consumers_rely_on(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(
        client, platform, early_access=True, price={"amount": 0, "currency": "USD"}
    )
    app_id = game["app_id"]
    player = await signed_up(client)
    claimed = await client.post(f"/api/v1/purchases/library/{app_id}/claim", headers=player.headers)
    assert claimed.status_code == 201, claimed.text
    ended = datetime.now(UTC) - timedelta(minutes=1)
    played = await client.post(
        f"/api/v1/purchases/library/{app_id}/playtime",
        json={
            "started_at": (ended - timedelta(minutes=30)).isoformat(),
            "ended_at": ended.isoformat(),
        },
        headers=player.headers,
    )
    assert played.status_code == 200, played.text
    admin = await admin_account(client, platform)

    review = await post_review(client, player, app_id, recommended=True, language="pt-BR")
    path = f"{REVIEWS}/{review['id']}"
    edited = await client.patch(
        path, json={"recommended": False, "body": "Changed my mind."}, headers=player.headers
    )
    assert edited.status_code == 200, edited.text
    for action, reason in (("hide", "spoilers"), ("restore", "edited since")):
        moderated = await client.post(
            f"{path}/{action}", json={"reason": reason}, headers=admin.headers
        )
        assert moderated.status_code == 200, moderated.text
    assert (await client.delete(path, headers=player.headers)).status_code == 204

    events = await published(platform)
    assert {key for _, key, _ in events} == {str(app_id)}
    reviews = [(kind, payload) for kind, _, payload in events if kind.startswith("Review")]
    who = {"review_id": review["id"], "app_id": app_id, "author_id": player.id}
    assert reviews == [
        (
            "ReviewPosted",
            {
                **who,
                "recommended": True,
                "language": "pt-BR",
                "playtime_at_review": 30,
                "early_access": True,
                "received_for_free": True,
            },
        ),
        ("ReviewUpdated", {**who, "changed": ["body", "recommended"], "recommended": False}),
        ("ReviewHidden", {**who, "moderator_id": admin.id, "reason": "spoilers"}),
        ("ReviewRestored", {**who, "moderator_id": admin.id, "reason": "edited since"}),
        ("ReviewDeleted", who),
    ]

    # The summary after each change that moved the counts: post, flip, hide, restore, delete.
    summaries = [payload for kind, _, payload in events if kind == "GameReviewSummaryChanged"]
    assert [(s["total"], s["positive"], s["revision"]) for s in summaries] == [
        (1, 1, 1),
        (1, 0, 2),
        (0, 0, 3),
        (1, 0, 4),
        (0, 0, 5),
    ]
    assert summaries[1] == {
        "app_id": app_id,
        "total": 1,
        "positive": 0,
        "score": None,
        "description": None,
        "recent_total": 1,
        "recent_positive": 0,
        "recent_score": None,
        "recent_description": None,
        "revision": 2,
    }
