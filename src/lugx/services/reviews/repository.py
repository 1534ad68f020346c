"""Every query of the reviews service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.sql import insert_with_conflicts
from lugx.services.reviews.models import (
    Comment,
    CommentVote,
    GameDay,
    GameSummary,
    ModerationAction,
    Report,
    Review,
    ReviewVote,
)

# --- reviews --------------------------------------------------------------------------------


async def review(
    session: AsyncSession, review_id: uuid.UUID, *, lock: bool = False
) -> Review | None:
    """`lock`: hold the row until commit (PostgreSQL; SQLite writers are serialised anyway),
    so counters and votes on one review change one transaction at a time."""
    query = select(Review).where(Review.id == review_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def review_of(session: AsyncSession, app_id: int, author_id: uuid.UUID) -> Review | None:
    result = await session.execute(
        select(Review).where(Review.app_id == app_id, Review.author_id == author_id)
    )
    return result.scalar_one_or_none()


def page_query(
    app_id: int,
    *,
    sort: str,
    recommended: bool | None,
    language: str | None,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> Select[Review]:
    """A page of a game's visible reviews, newest or most helpful first. The order is exactly
    the reverse of ix_reviews_helpful / ix_reviews_recent, so the database reads one index
    range backwards and stops after `limit` rows; `after` is the last row's (key, id)."""
    key = Review.wilson_score if sort == "helpful" else Review.created_at
    query = select(Review).where(Review.app_id == app_id, Review.hidden.is_(False))
    if recommended is not None:
        query = query.where(Review.recommended.is_(recommended))
    if language is not None:
        query = query.where(Review.language == language)
    if after is not None:
        query = query.where(_before(key, after))
    return query.order_by(key.desc(), Review.id.desc()).limit(limit)


def _before(key: Any, after: tuple[Any, uuid.UUID]) -> ColumnElement[bool]:
    value, last_id = after
    return or_(key < value, and_(key == value, Review.id < last_id))


async def reviews_page(session: AsyncSession, query: Select[Review]) -> list[Review]:
    return list((await session.execute(query)).scalars())


# --- votes ----------------------------------------------------------------------------------


async def vote(
    session: AsyncSession, review_id: uuid.UUID, user_id: uuid.UUID, kind: str
) -> ReviewVote | None:
    return await session.get(ReviewVote, (review_id, user_id, kind), populate_existing=True)


async def comment_vote(
    session: AsyncSession, comment_id: uuid.UUID, user_id: uuid.UUID
) -> CommentVote | None:
    return await session.get(CommentVote, (comment_id, user_id), populate_existing=True)


# --- comments -------------------------------------------------------------------------------


async def comment(
    session: AsyncSession, comment_id: uuid.UUID, *, lock: bool = False
) -> Comment | None:
    query = select(Comment).where(Comment.id == comment_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def comments_page(
    session: AsyncSession,
    review_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Comment]:
    query = select(Comment).where(Comment.review_id == review_id, Comment.hidden.is_(False))
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Comment.created_at > at, and_(Comment.created_at == at, Comment.id > last_id))
        )
    result = await session.execute(query.order_by(Comment.created_at, Comment.id).limit(limit))
    return list(result.scalars())


async def add_comment_count(session: AsyncSession, review_id: uuid.UUID, delta: int) -> None:
    await session.execute(
        update(Review)
        .where(Review.id == review_id)
        .values(comment_count=Review.comment_count + delta)
        .execution_options(synchronize_session=False)
    )


# --- reports and moderation -----------------------------------------------------------------


async def report_by(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, reporter_id: uuid.UUID
) -> Report | None:
    result = await session.execute(
        select(Report).where(
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.reporter_id == reporter_id,
        )
    )
    return result.scalar_one_or_none()


async def report(session: AsyncSession, report_id: uuid.UUID) -> Report | None:
    return await session.get(Report, report_id)


async def close_reports(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, status: str, at: datetime
) -> None:
    await session.execute(
        update(Report)
        .where(
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.status == "open",
        )
        .values(status=status, closed_at=at)
        .execution_options(synchronize_session=False)
    )


async def reports_page(
    session: AsyncSession,
    *,
    status: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Report]:
    """Oldest first: the queue is worked from its front."""
    query = select(Report).where(Report.status == status)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Report.created_at > at, and_(Report.created_at == at, Report.id > last_id))
        )
    result = await session.execute(query.order_by(Report.created_at, Report.id).limit(limit))
    return list(result.scalars())


async def moderation_page(
    session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[ModerationAction]:
    """Newest first."""
    query = select(ModerationAction)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                ModerationAction.created_at < at,
                and_(ModerationAction.created_at == at, ModerationAction.id < last_id),
            )
        )
    result = await session.execute(
        query.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()).limit(limit)
    )
    return list(result.scalars())


# --- summaries ------------------------------------------------------------------------------


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def bump_summary(
    session: AsyncSession, app_id: int, total: int, positive: int
) -> tuple[int, int, int]:
    """Add to a game's all-time counts (making its row if needed); the new (total, positive,
    revision). On PostgreSQL the upsert locks the row until commit: every change to one game's
    counts, daily ones included, happens one transaction at a time."""
    table = cast(Table, GameSummary.__table__)
    insert = insert_with_conflicts(_dialect(session), table)
    statement = (
        insert.values(app_id=app_id, total=total, positive=positive, revision=1)
        .on_conflict_do_update(
            index_elements=[table.c.app_id],
            set_={
                "total": table.c.total + total,
                "positive": table.c.positive + positive,
                "revision": table.c.revision + 1,
            },
        )
        .returning(table.c.total, table.c.positive, table.c.revision)
    )
    row = (await session.execute(statement)).one()
    return int(row.total), int(row.positive), int(row.revision)


async def bump_day(
    session: AsyncSession, app_id: int, day: date, total: int, positive: int
) -> None:
    table = cast(Table, GameDay.__table__)
    insert = insert_with_conflicts(_dialect(session), table)
    await session.execute(
        insert.values(app_id=app_id, day=day, total=total, positive=positive).on_conflict_do_update(
            index_elements=[table.c.app_id, table.c.day],
            set_={"total": table.c.total + total, "positive": table.c.positive + positive},
        )
    )


async def recent_counts(session: AsyncSession, app_id: int, since: date) -> tuple[int, int]:
    """(total, positive) of the days from `since` on: at most about 31 rows of one key range."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(GameDay.total), 0),
                func.coalesce(func.sum(GameDay.positive), 0),
            ).where(GameDay.app_id == app_id, GameDay.day >= since)
        )
    ).one()
    return int(row[0]), int(row[1])


async def summary(session: AsyncSession, app_id: int) -> GameSummary | None:
    return await session.get(GameSummary, app_id, populate_existing=True)


async def stale_recent(session: AsyncSession, today: date, limit: int) -> Sequence[int]:
    """Games whose published recent score was computed before today and counted something:
    a day may have left their window since."""
    result = await session.execute(
        select(GameSummary.app_id)
        .where(GameSummary.recent_as_of < today, GameSummary.recent_total > 0)
        .order_by(GameSummary.app_id)
        .limit(limit)
    )
    return list(result.scalars())
