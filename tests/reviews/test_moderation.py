"""Comments, their votes, reports by players, and moderation by admins with its log."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.reviews.models import ModerationAction, Report
from tests.catalog.factories import admin_account
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS, a_game, owners, players, post_review, walk


async def rows_of(platform: Platform, model: type[Report] | type[ModerationAction]) -> int:
    async with database_of(platform, "reviews").session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_comments_and_their_votes(client: httpx.AsyncClient, platform: Platform) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    commenter, voter = await players(client, 2)
    review = await post_review(client, author, game["app_id"])
    text = "<img src=x onerror=alert(1)> agreed"
    made = await client.post(
        f"{REVIEWS}/{review['id']}/comments", json={"body": text}, headers=commenter.headers
    )
    assert made.status_code == 201, made.text
    comment = made.json()
    assert comment["body"] == text
    too_long = await client.post(
        f"{REVIEWS}/{review['id']}/comments", json={"body": "c" * 2_001}, headers=voter.headers
    )
    assert too_long.status_code == 422
    listed = (await client.get(f"{REVIEWS}/{review['id']}/comments")).json()
    assert [c["id"] for c in listed["items"]] == [comment["id"]]
    assert (await client.get(f"{REVIEWS}/{review['id']}")).json()["comment_count"] == 1

    path = f"{REVIEWS}/comments/{comment['id']}/votes/helpful"
    own = await client.put(path, json={"value": True}, headers=commenter.headers)
    assert own.status_code == 403
    up = await client.put(path, json={"value": True}, headers=voter.headers)
    assert up.json() == {"value": True, "helpful": 1, "not_helpful": 0}
    down = await client.put(path, json={"value": False}, headers=voter.headers)
    assert down.json() == {"value": False, "helpful": 0, "not_helpful": 1}
    gone = await client.delete(path, headers=voter.headers)
    assert gone.json() == {"value": None, "helpful": 0, "not_helpful": 0}

    other = await client.delete(f"{REVIEWS}/comments/{comment['id']}", headers=voter.headers)
    assert other.status_code == 403
    deleted = await client.delete(f"{REVIEWS}/comments/{comment['id']}", headers=commenter.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{REVIEWS}/{review['id']}")).json()["comment_count"] == 0


async def test_reports_once_each_with_a_listed_reason(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    [reporter] = await players(client, 1)
    review = await post_review(client, author, game["app_id"])
    path = f"{REVIEWS}/{review['id']}/reports"
    bad_reason = await client.post(path, json={"reason": "i-dislike-it"}, headers=reporter.headers)
    assert bad_reason.status_code == 422
    own = await client.post(path, json={"reason": "spam"}, headers=author.headers)
    assert own.status_code == 403
    first = await client.post(
        path, json={"reason": "spam", "details": "links"}, headers=reporter.headers
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "open"
    twice = await client.post(path, json={"reason": "offensive"}, headers=reporter.headers)
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("/already-reported")
    assert await rows_of(platform, Report) == 1


async def test_admins_hide_and_restore_with_a_log_and_nobody_else_can(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    [author] = await owners(client, platform, game["app_id"], 1)
    [player] = await players(client, 1)
    admin = await admin_account(client, platform)
    review = await post_review(client, author, game["app_id"])
    comment = (
        await client.post(
            f"{REVIEWS}/{review['id']}/comments", json={"body": "spam spam"}, headers=player.headers
        )
    ).json()
    await client.post(
        f"{REVIEWS}/{review['id']}/reports", json={"reason": "spam"}, headers=player.headers
    )

    for outsider in (author, player):
        for path in (f"{REVIEWS}/{review['id']}/hide", f"{REVIEWS}/comments/{comment['id']}/hide"):
            refused = await client.post(path, json={"reason": "x"}, headers=outsider.headers)
            assert refused.status_code == 403, path
        queue = await client.get(f"{REVIEWS}/moderation/reports", headers=outsider.headers)
        assert queue.status_code == 403
        log = await client.get(f"{REVIEWS}/moderation/log", headers=outsider.headers)
        assert log.status_code == 403
    assert (await client.get(f"{REVIEWS}/{review['id']}")).json()["hidden"] is False
    assert await rows_of(platform, ModerationAction) == 0

    queue = (await client.get(f"{REVIEWS}/moderation/reports", headers=admin.headers)).json()
    assert [r["target_id"] for r in queue["items"]] == [review["id"]]
    no_reason = await client.post(f"{REVIEWS}/{review['id']}/hide", json={}, headers=admin.headers)
    assert no_reason.status_code == 422
    hidden = await client.post(
        f"{REVIEWS}/{review['id']}/hide", json={"reason": "advertising"}, headers=admin.headers
    )
    assert hidden.status_code == 200
    assert hidden.json()["hidden"] is True
    again = await client.post(
        f"{REVIEWS}/{review['id']}/hide", json={"reason": "again"}, headers=admin.headers
    )
    assert again.status_code == 409
    assert (await client.get(f"{REVIEWS}/{review['id']}")).status_code == 404  # gone for others
    mine = await client.get(f"{REVIEWS}/{review['id']}", headers=author.headers)
    assert mine.json()["hidden"] is True  # its author still sees it
    listed = (await client.get(f"{REVIEWS}/games/{game['app_id']}/reviews")).json()
    assert listed["items"] == []
    resolved = (
        await client.get(
            f"{REVIEWS}/moderation/reports", params={"status": "resolved"}, headers=admin.headers
        )
    ).json()
    assert [r["target_id"] for r in resolved["items"]] == [review["id"]]

    restored = await client.post(
        f"{REVIEWS}/{review['id']}/restore", json={"reason": "appeal upheld"}, headers=admin.headers
    )
    assert restored.json()["hidden"] is False
    await client.post(
        f"{REVIEWS}/comments/{comment['id']}/hide", json={"reason": "spam"}, headers=admin.headers
    )
    assert (await client.get(f"{REVIEWS}/{review['id']}/comments")).json()["items"] == []

    log = (await client.get(f"{REVIEWS}/moderation/log", headers=admin.headers)).json()
    assert [(e["action"], e["target_type"], e["reason"]) for e in log["items"]] == [
        ("hide", "comment", "spam"),
        ("restore", "review", "appeal upheld"),
        ("hide", "review", "advertising"),
    ]
    assert {e["moderator_id"] for e in log["items"]} == {admin.id}


async def test_a_comment_is_reported_and_an_admin_dismisses_the_report(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, game = await a_game(client, platform)
    app_id = game["app_id"]
    [author] = await owners(client, platform, app_id, 1)
    commenter, reporter, other = await players(client, 3)
    admin = await admin_account(client, platform)
    review = await post_review(client, author, app_id)
    comment = (
        await client.post(
            f"{REVIEWS}/{review['id']}/comments",
            json={"body": "buy gold"},
            headers=commenter.headers,
        )
    ).json()
    path = f"{REVIEWS}/comments/{comment['id']}/reports"

    own = await client.post(path, json={"reason": "spam"}, headers=commenter.headers)
    assert own.status_code == 403
    bad = await client.post(path, json={"reason": "boring"}, headers=reporter.headers)
    assert bad.status_code == 422
    made = await client.post(
        path, json={"reason": "spam", "details": "gold seller"}, headers=reporter.headers
    )
    assert made.status_code == 201, made.text
    report = made.json()
    assert {k: report[k] for k in ("target_type", "target_id", "app_id", "reporter_id")} == {
        "target_type": "comment",
        "target_id": comment["id"],
        "app_id": app_id,
        "reporter_id": reporter.id,
    }
    assert (report["reason"], report["details"], report["status"]) == (
        "spam",
        "gold seller",
        "open",
    )
    assert report["closed_at"] is None
    twice = await client.post(path, json={"reason": "offensive"}, headers=reporter.headers)
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("/already-reported")
    second = await client.post(path, json={"reason": "off_topic"}, headers=other.headers)
    assert second.status_code == 201
    missing = await client.post(
        f"{REVIEWS}/comments/{uuid.uuid4()}/reports", json={"reason": "spam"}, headers=other.headers
    )
    assert missing.status_code == 404
    assert await rows_of(platform, Report) == 2

    dismiss = f"{REVIEWS}/moderation/reports/{report['id']}/dismiss"
    for outsider in (reporter, commenter):
        refused = await client.post(dismiss, json={"reason": "x"}, headers=outsider.headers)
        assert refused.status_code == 403
    assert (await client.post(dismiss, json={}, headers=admin.headers)).status_code == 422
    dismissed = await client.post(dismiss, json={"reason": "not spam"}, headers=admin.headers)
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed.json()["closed_at"] is not None
    again = await client.post(dismiss, json={"reason": "again"}, headers=admin.headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/no-change")
    unknown = await client.post(
        f"{REVIEWS}/moderation/reports/{uuid.uuid4()}/dismiss",
        json={"reason": "x"},
        headers=admin.headers,
    )
    assert unknown.status_code == 404
    # The comment stays; only the report left the queue.
    listed = (await client.get(f"{REVIEWS}/{review['id']}/comments")).json()
    assert [c["id"] for c in listed["items"]] == [comment["id"]]

    queue = f"{REVIEWS}/moderation/reports"

    async def queued(status: str) -> list[list[str]]:
        """Each page's report ids, one report a page: the last page is full and says so."""
        pages = await walk(client, queue, status=status, limit=1, headers=admin.headers)
        return [[r["id"] for r in page["items"]] for page in pages]

    assert await queued("dismissed") == [[report["id"]]]
    assert await queued("open") == [[second.json()["id"]]]
    hidden = await client.post(
        f"{REVIEWS}/comments/{comment['id']}/hide", json={"reason": "spam"}, headers=admin.headers
    )
    assert hidden.status_code == 200
    assert await queued("open") == [[]]  # hiding resolved the other report
    assert await queued("resolved") == [[second.json()["id"]]]
    assert await queued("dismissed") == [[report["id"]]]  # a dismissed report stays dismissed

    log = await walk(client, f"{REVIEWS}/moderation/log", limit=1, headers=admin.headers)
    assert [
        [(e["action"], e["target_type"], e["reason"]) for e in page["items"]] for page in log
    ] == [
        [("hide", "comment", "spam")],
        [("dismiss", "comment", "not spam")],
    ]
    assert log[1]["items"][0]["target_id"] == comment["id"]
    assert log[1]["items"][0]["app_id"] == app_id
