"""Comments on reviews: any signed-in player may comment on a visible review; the author of a
comment may delete it. A review's `comment_count` counts its visible comments."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.cache import Cache
from lugx.platform.db import utcnow
from lugx.platform.errors import Forbidden, NotFound
from lugx.services.reviews import repository as repo
from lugx.services.reviews import summaries
from lugx.services.reviews.models import Comment


async def add_comment(
    session: AsyncSession, cache: Cache, principal: Principal, review_id: uuid.UUID, text: str
) -> Comment:
    review = await repo.review(session, review_id)
    if review is None or review.hidden:
        raise NotFound("No such review")
    now = utcnow()
    comment = Comment(
        review_id=review_id, author_id=principal.user_id, body=text, created_at=now, updated_at=now
    )
    session.add(comment)
    await session.flush()
    await repo.add_comment_count(session, review_id, +1)
    summaries.forget_pages_after_commit(session, cache, review.app_id)  # lists show the count
    return comment


async def visible_comment(
    session: AsyncSession, comment_id: uuid.UUID, *, lock: bool = False
) -> Comment:
    comment = await repo.comment(session, comment_id, lock=lock)
    if comment is None or comment.hidden:
        raise NotFound("No such comment")
    return comment


async def delete_comment(
    session: AsyncSession, cache: Cache, principal: Principal, comment_id: uuid.UUID
) -> None:
    comment = await visible_comment(session, comment_id, lock=True)
    if comment.author_id != principal.user_id:
        raise Forbidden("Only its author can delete a comment", code="not-author")
    await repo.close_reports(session, "comment", comment.id, "resolved", utcnow())
    await repo.add_comment_count(session, comment.review_id, -1)
    parent = await repo.review(session, comment.review_id)
    await session.delete(comment)
    await session.flush()
    if parent is not None:
        summaries.forget_pages_after_commit(session, cache, parent.app_id)
