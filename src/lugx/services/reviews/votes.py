"""Votes on reviews (helpful / not helpful, and funny) and on comments (helpful / not helpful).

One vote of each kind per user and target: voting again replaces the vote, removing it takes
it back, and nobody votes on their own words. The target's row is locked first (PostgreSQL; the
SQLite writer is serialised anyway), so votes on one target change its counters one at a time:
twenty players voting at once leave exact counts, and one player voting twice at once leaves one
vote. The Wilson score is recomputed from the counters in the same transaction.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.cache import Cache
from lugx.platform.errors import Forbidden, NotFound
from lugx.services.reviews import repository as repo
from lugx.services.reviews import summaries
from lugx.services.reviews.models import Comment, CommentVote, Review, ReviewVote
from lugx.services.reviews.scoring import wilson_lower_bound

Kind = Literal["helpful", "funny"]


def _count(review: Review, kind: str, value: bool | None, sign: int) -> None:
    if value is None:
        return
    if kind == "funny":
        review.funny += sign
    elif value:
        review.helpful_yes += sign
    else:
        review.helpful_no += sign


async def vote_on_review(
    session: AsyncSession,
    principal: Principal,
    review_id: uuid.UUID,
    kind: Kind,
    value: bool | None,
    cache: Cache,
) -> Review:
    """Set the caller's vote of this kind to `value` (None: remove it)."""
    review = await repo.review(session, review_id, lock=True)
    if review is None or review.hidden:
        raise NotFound("No such review")
    if review.author_id == principal.user_id:
        raise Forbidden("You cannot vote on your own review", code="own-review")
    current = await repo.vote(session, review_id, principal.user_id, kind)
    before = current.value if current is not None else None
    if before == value:
        return review
    _count(review, kind, before, -1)
    _count(review, kind, value, +1)
    if current is None:
        session.add(
            ReviewVote(review_id=review_id, user_id=principal.user_id, kind=kind, value=value)
        )
    elif value is None:
        await session.delete(current)
    else:
        current.value = value
    review.wilson_score = wilson_lower_bound(
        review.helpful_yes, review.helpful_yes + review.helpful_no
    )
    await session.flush()
    # The helpful order moved; the counts did not.
    summaries.forget_pages_after_commit(session, cache, review.app_id)
    return review


async def vote_on_comment(
    session: AsyncSession, principal: Principal, comment_id: uuid.UUID, value: bool | None
) -> Comment:
    comment = await repo.comment(session, comment_id, lock=True)
    if comment is None or comment.hidden:
        raise NotFound("No such comment")
    if comment.author_id == principal.user_id:
        raise Forbidden("You cannot vote on your own comment", code="own-comment")
    current = await repo.comment_vote(session, comment_id, principal.user_id)
    before = current.value if current is not None else None
    if before == value:
        return comment
    if before is not None:
        comment.helpful_yes -= before
        comment.helpful_no -= not before
    if value is not None:
        comment.helpful_yes += value
        comment.helpful_no += not value
    if current is None:
        session.add(CommentVote(comment_id=comment_id, user_id=principal.user_id, value=value))
    elif value is None:
        await session.delete(current)
    else:
        current.value = value
    await session.flush()
    return comment
