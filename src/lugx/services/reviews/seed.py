"""Reviews data: the quick start's demo reviews, and the benchmark's bulk load.

Demo (`lugx up` in development): a dozen demo reviewers, registered through the users
service's own API, review the first games of the demo store, so its pages show scores.

Bench (`load_bench`): one game with N reviews and M votes, written in large batches. The votes
are drawn twice from the same seeded generator: once to count them (each review's counters and
Wilson score are written with the review), once to insert them, so a million votes never sit in
memory at once.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import utcnow
from lugx.platform.errors import LugxError
from lugx.platform.service import ServiceContext
from lugx.services.reviews import repository as repo
from lugx.services.reviews import summaries
from lugx.services.reviews.models import GameDay, GameSummary, Review, ReviewVote
from lugx.services.reviews.scoring import wilson_lower_bound

log = structlog.get_logger(__name__)

DEMO_REVIEWERS = 12
DEMO_GAMES = 5
BENCH_APP_ID = 10  # the first game of any catalog (app ids start at 10)
REVIEW_BATCH = 5_000
VOTE_BATCH = 20_000
LANGUAGES = ("en", "en", "en", "en", "de", "fr", "es", "pt-BR", "ru", "zh-CN")

_OPENINGS = (
    "Lost a whole weekend to this one.",
    "Solid, but the late game drags.",
    "The soundtrack alone is worth it.",
    "Crashed twice in the first hour.",
    "Best co-op I have played in years.",
    "Fun for a while, then repetitive.",
    "Great art, thin story.",
    "Not worth full price; wait for a sale.",
)
_CLOSINGS = (
    "Recommended with friends.",
    "Patch notes look promising.",
    "Would play again.",
    "Controls need work.",
    "A classic in the making.",
    "Refunded after two hours.",
)


def review_text(rng: random.Random) -> str:
    return f"{rng.choice(_OPENINGS)} {rng.choice(_CLOSINGS)}"


# --- writing reviews in bulk ----------------------------------------------------------------


async def write_reviews(
    ctx: ServiceContext, rows: list[dict[str, Any]], *, batch: int = REVIEW_BATCH
) -> None:
    """Insert review rows (counters included) and bring each game's summary up to date: one
    summary change and one event per game, not per review."""
    table: Table = Review.__table__  # type: ignore[assignment]
    for start in range(0, len(rows), batch):
        async with ctx.db.session() as session:
            await session.execute(insert(table), rows[start : start + batch])
    by_game: dict[int, Counter[tuple[Any, bool]]] = {}
    for row in rows:
        if not row.get("hidden", False):
            by_game.setdefault(row["app_id"], Counter())[
                (row["created_at"].date(), row["recommended"])
            ] += 1
    for app_id, days in by_game.items():
        async with ctx.db.session() as session:
            await _add_counts(session, ctx, app_id, days)


async def _add_counts(
    session: AsyncSession, ctx: ServiceContext, app_id: int, days: Counter[tuple[Any, bool]]
) -> None:
    total = sum(days.values())
    positive = sum(n for (_day, recommended), n in days.items() if recommended)
    for day in {day for day, _ in days}:
        day_total = days[(day, True)] + days[(day, False)]
        await repo.bump_day(session, app_id, day, day_total, days[(day, True)])
    # The last step goes through the rule every review takes: summary row, event, cache.
    all_total, all_positive, revision = await repo.bump_summary(session, app_id, total, positive)
    await summaries.publish(
        session, ctx.events, app_id, all_total, all_positive, revision, utcnow().date()
    )
    summaries.forget_after_commit(session, ctx.cache, app_id)


# --- the quick start's demo -----------------------------------------------------------------


async def seed_demo(ctx: ServiceContext) -> None:
    async with ctx.db.session(write=False) as session:
        if (await session.execute(select(Review.id).limit(1))).first() is not None:
            return
    try:
        app_ids = await _demo_games(ctx)
        reviewers = [await _demo_reviewer(ctx, n) for n in range(1, DEMO_REVIEWERS + 1)]
    except LugxError:
        log.info("no demo store or accounts to review; no demo reviews")
        return
    rng, now = random.Random(2026), utcnow()
    rows = []
    for rank, app_id in enumerate(app_ids):
        liking = (0.95, 0.85, 0.72, 0.5, 0.3)[rank % 5]
        for author in reviewers:
            rows.append(_demo_row(rng, app_id, author, rng.random() < liking, now))
    await write_reviews(ctx, rows)
    log.info("demo reviews written", reviews=len(rows), games=len(app_ids))


def _demo_row(
    rng: random.Random, app_id: int, author: uuid.UUID, recommended: bool, now: datetime
) -> dict[str, Any]:
    created = now - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 1440))
    return review_row(
        app_id=app_id,
        author_id=author,
        recommended=recommended,
        body=review_text(rng),
        language="en",
        playtime=rng.randint(30, 6000),
        created_at=created,
    )


async def _demo_games(ctx: ServiceContext) -> list[int]:
    from lugx.services.catalog.client import CatalogClient

    response = await ctx.client(CatalogClient).request(
        "GET", "/api/v1/catalog/shelves/top-sellers", params={"limit": DEMO_GAMES}
    )
    return [int(item["app_id"]) for item in response.json()["items"]]


async def _demo_reviewer(ctx: ServiceContext, number: int) -> uuid.UUID:
    """A demo reviewer, registered through the users service's own API (or found there)."""
    from lugx.services.users.client import UsersClient

    users = ctx.client(UsersClient)
    username = f"reviewer{number:02d}"
    try:
        return (await users.profile(username)).id
    except LugxError:
        pass
    response = await users.request(
        "POST",
        "/api/v1/users/register",
        json={
            "username": username,
            "email": f"{username}@lugx.example",
            "password": secrets.token_urlsafe(18),
        },
    )
    return uuid.UUID(response.json()["id"])


def review_row(
    *,
    app_id: int,
    author_id: uuid.UUID,
    recommended: bool,
    body: str,
    language: str,
    playtime: int,
    created_at: datetime,
    review_id: uuid.UUID | None = None,
    helpful_yes: int = 0,
    helpful_no: int = 0,
    funny: int = 0,
) -> dict[str, Any]:
    return {
        "id": review_id or uuid.uuid4(),
        "app_id": app_id,
        "author_id": author_id,
        "recommended": recommended,
        "body": body,
        "language": language,
        "playtime_at_review": playtime,
        "playtime_at_edit": None,
        "early_access": False,
        "received_for_free": False,
        "edited_at": None,
        "hidden": False,
        "helpful_yes": helpful_yes,
        "helpful_no": helpful_no,
        "funny": funny,
        "wilson_score": wilson_lower_bound(helpful_yes, helpful_yes + helpful_no),
        "comment_count": 0,
        "response_body": None,
        "response_by": None,
        "responded_at": None,
        "created_at": created_at,
        "updated_at": created_at,
    }


# --- the benchmark's load -------------------------------------------------------------------


@dataclass
class BenchLoad:
    app_id: int
    reviews: int
    votes: int
    seed: int = 42
    seconds: dict[str, float] = field(default_factory=dict)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _votes(
    load: BenchLoad, ids: list[uuid.UUID], liked: list[float]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The load's votes, the same on every call: (review index, vote row). Votes pile on a few
    reviews (as on a real store: the top reviews get most of them)."""
    rng = random.Random(load.seed * 7919 + 1)
    count = len(ids)
    for _ in range(load.votes):
        index = min(count - 1, int(count * rng.random() ** 4))
        funny = rng.random() < 0.1
        value = True if funny else rng.random() < liked[index]
        yield (
            index,
            {
                "review_id": ids[index],
                "user_id": _uuid(rng),
                "kind": "funny" if funny else "helpful",
                "value": value,
                "created_at": None,
            },
        )


async def load_bench(
    ctx: ServiceContext,
    load: BenchLoad,
    progress: Callable[[str, int], None] | None = None,
) -> BenchLoad:
    """Give one game `load.reviews` reviews and `load.votes` votes (its earlier reviews are
    removed first), with counters, Wilson scores and its summary as the API would leave them."""
    say = progress or (lambda _table, _rows: None)
    rng, now = random.Random(load.seed), utcnow()
    started = time.perf_counter()
    ids = [_uuid(rng) for _ in range(load.reviews)]
    liked = [rng.betavariate(6, 2) for _ in ids]
    yes, no, funny = [0] * len(ids), [0] * len(ids), [0] * len(ids)
    for index, row in _votes(load, ids, liked):
        if row["kind"] == "funny":
            funny[index] += 1
        elif row["value"]:
            yes[index] += 1
        else:
            no[index] += 1
    await _clear_game(ctx, load.app_id)
    rows = [
        review_row(
            review_id=review_id,
            app_id=load.app_id,
            author_id=_uuid(rng),
            recommended=rng.random() < 0.85,
            body=review_text(rng),
            language=rng.choice(LANGUAGES),
            playtime=rng.randint(10, 20_000),
            created_at=now - timedelta(seconds=rng.randint(0, 730 * 86_400)),
            helpful_yes=yes[i],
            helpful_no=no[i],
            funny=funny[i],
        )
        for i, review_id in enumerate(ids)
    ]
    await write_reviews(ctx, rows)
    say("reviews", len(rows))
    load.seconds["reviews"] = time.perf_counter() - started
    started = time.perf_counter()
    await _insert_votes(ctx, load, ids, liked, now, say)
    await _analyze(ctx)
    load.seconds["votes"] = time.perf_counter() - started
    return load


async def _insert_votes(
    ctx: ServiceContext,
    load: BenchLoad,
    ids: list[uuid.UUID],
    liked: list[float],
    now: datetime,
    say: Callable[[str, int], None],
) -> None:
    table: Table = ReviewVote.__table__  # type: ignore[assignment]
    batch: list[dict[str, Any]] = []
    for _index, row in _votes(load, ids, liked):
        row["created_at"] = now
        batch.append(row)
        if len(batch) >= VOTE_BATCH:
            async with ctx.db.session() as session:
                await session.execute(insert(table), batch)
            say("review_votes", len(batch))
            batch = []
    if batch:
        async with ctx.db.session() as session:
            await session.execute(insert(table), batch)
        say("review_votes", len(batch))


async def _clear_game(ctx: ServiceContext, app_id: int) -> None:
    async with ctx.db.session() as session:
        await session.execute(delete(Review).where(Review.app_id == app_id))
        await session.execute(delete(GameDay).where(GameDay.app_id == app_id))
        await session.execute(delete(GameSummary).where(GameSummary.app_id == app_id))


async def _analyze(ctx: ServiceContext) -> None:
    """Fresh planner statistics, so the pages read the indexes they were built for."""
    async with ctx.db.session() as session:
        await session.execute(text("ANALYZE"))
