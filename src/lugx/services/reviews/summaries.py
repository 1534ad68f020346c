"""Each game's review summary: kept incrementally with every change that moves it, published as
`GameReviewSummaryChanged` in the same transaction (the catalog keeps its copy from it), and
republished when a day leaves a game's recent window (`refresh_recent_forever`).

Only visible reviews count: hiding a review takes it out, restoring puts it back. The recent
score counts the reviews written in the last 30 days (today, UTC, and the 29 before).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.cache import Cache
from lugx.platform.db import Database, after_commit, utcnow
from lugx.platform.events import EventBus
from lugx.platform.review_scores import review_description, review_score
from lugx.platform.service import ServiceContext
from lugx.services.reviews import repository as repo
from lugx.services.reviews.models import Review
from lugx.services.reviews.schemas import ScoreRead, SummaryRead

log = structlog.get_logger(__name__)

RECENT_DAYS = 30
SUMMARY_TTL_SECONDS = 60
PAGE_TTL_SECONDS = 30
GENERATION_TTL_SECONDS = 86_400 * 365
REFRESH_BATCH = 500


def window_start(today: date) -> date:
    return today - timedelta(days=RECENT_DAYS - 1)


def cache_key(app_id: int) -> str:
    return f"reviews:summary:{app_id}"


def score_of(total: int, positive: int) -> ScoreRead:
    return ScoreRead(
        total=total,
        positive=positive,
        negative=total - positive,
        score=review_score(total, positive),
        description=review_description(total, positive),
    )


async def count(
    session: AsyncSession, events: EventBus, cache: Cache, review: Review, sign: int
) -> None:
    """Count a review in (+1) or out (-1) of its game's summary."""
    await move(session, events, cache, review, sign, sign if review.recommended else 0)


async def move(
    session: AsyncSession,
    events: EventBus,
    cache: Cache,
    review: Review,
    total: int,
    positive: int,
) -> None:
    """Add (total, positive) to the review's game, all time and on the review's day, and
    publish the new summary."""
    if total == 0 and positive == 0:
        return
    app_id, today = review.app_id, utcnow().date()
    all_total, all_positive, revision = await repo.bump_summary(session, app_id, total, positive)
    await repo.bump_day(session, app_id, review.created_at.date(), total, positive)
    await publish(session, events, app_id, all_total, all_positive, revision, today)
    forget_summary_after_commit(session, cache, app_id)
    forget_pages_after_commit(session, cache, app_id)  # the review joins, leaves or flips a list


async def publish(
    session: AsyncSession,
    events: EventBus,
    app_id: int,
    total: int,
    positive: int,
    revision: int,
    today: date,
) -> None:
    recent_total, recent_positive = await repo.recent_counts(session, app_id, window_start(today))
    row = await repo.summary(session, app_id)
    if row is not None:
        row.recent_total, row.recent_positive, row.recent_as_of = (
            recent_total,
            recent_positive,
            today,
        )
    await events.publish(
        session,
        "GameReviewSummaryChanged",
        key=str(app_id),
        payload={
            "app_id": app_id,
            "total": total,
            "positive": positive,
            "score": review_score(total, positive),
            "description": review_description(total, positive),
            "recent_total": recent_total,
            "recent_positive": recent_positive,
            "recent_score": review_score(recent_total, recent_positive),
            "recent_description": review_description(recent_total, recent_positive),
            # Grows with every change of this game's summary: a consumer keeping the highest
            # can ignore an older summary delivered late.
            "revision": revision,
        },
    )
    await session.flush()


def generation_key(app_id: int) -> str:
    return f"reviews:generation:{app_id}"


def forget_pages_after_commit(session: AsyncSession, cache: Cache, app_id: int) -> None:
    """Once the change is committed, move the game's generation on, so no cached first page of
    its reviews is served again (see routes.list_reviews): for every change a list shows (votes,
    comments, edits, developer responses, and what moves the counts). A read racing the change
    may store what it read under the old generation: nobody asks for that."""

    async def next_generation() -> None:
        await cache.incr(generation_key(app_id), GENERATION_TTL_SECONDS)

    after_commit(session, next_generation)


def forget_summary_after_commit(session: AsyncSession, cache: Cache, app_id: int) -> None:
    """Once the change is committed, drop the game's cached summary: only for what moves its
    counts (`move`, and a day leaving the recent window), so the votes and comments of a busy
    game leave its summary cached."""

    async def drop() -> None:
        await cache.delete(cache_key(app_id))

    after_commit(session, drop)


async def read(db: Database, cache: Cache, app_id: int) -> bytes:
    """The summary as JSON: from the cache, or two reads (the summary row and at most 30 days
    of one game) kept for a minute or until its counts next change (votes and comments leave
    it). The database session is opened only when the cache cannot answer."""
    stored = await cache.get(cache_key(app_id))
    if stored is not None:
        return stored
    async with db.session(write=False) as session:
        row = await repo.summary(session, app_id)
        total, positive = (row.total, row.positive) if row is not None else (0, 0)
        recent = await repo.recent_counts(session, app_id, window_start(utcnow().date()))
    body = orjson.dumps(
        SummaryRead(
            app_id=app_id, all_time=score_of(total, positive), recent=score_of(*recent)
        ).model_dump(mode="json")
    )
    await cache.set(cache_key(app_id), body, ttl=SUMMARY_TTL_SECONDS)
    return body


async def refresh_recent(ctx: ServiceContext, today: date) -> int:
    """Republish the summaries of games whose recent window moved since they were published
    (a day left it). Returns how many were looked at."""
    async with ctx.db.session(write=False) as session:
        stale = await repo.stale_recent(session, today, REFRESH_BATCH)
    for app_id in stale:
        async with ctx.db.session() as session:
            total, positive, revision = await repo.bump_summary(session, app_id, 0, 0)
            await publish(session, ctx.events, app_id, total, positive, revision, today)
            forget_summary_after_commit(session, ctx.cache, app_id)  # no list changed
    return len(stale)


async def refresh_recent_forever(ctx: ServiceContext) -> None:
    while True:
        try:
            while await refresh_recent(ctx, utcnow().date()) == REFRESH_BATCH:
                pass
        except Exception:
            log.exception("refreshing recent review scores failed; retrying")
        await asyncio.sleep(ctx.settings.reviews_recent_refresh_seconds)
