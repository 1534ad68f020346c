"""The rules of reviews: who may write one (a player who owns the game, once per game), editing,
deleting, and the publisher's one public response. Votes are in votes.py, comments in
comments.py, reports and moderation in moderation.py. Functions take the request's session and
flush; they never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict, Forbidden, NotFound
from lugx.platform.service import ServiceContext
from lugx.services.reviews import lookups, summaries
from lugx.services.reviews import repository as repo
from lugx.services.reviews.models import Review
from lugx.services.reviews.schemas import ReviewCreate, ReviewUpdate


def _already_reviewed() -> Conflict:
    return Conflict(
        "You have already reviewed this game: edit or delete that review instead",
        code="already-reviewed",
    )


async def post_review(
    session: AsyncSession,
    ctx: ServiceContext,
    principal: Principal,
    app_id: int,
    body: ReviewCreate,
) -> Review:
    early_access = await lookups.in_early_access(ctx, app_id)  # NotFound: no such game
    if await repo.review_of(session, app_id, principal.user_id) is not None:
        raise _already_reviewed()
    copy = await lookups.owned_copy(ctx, principal.user_id, app_id)
    if copy is None:
        raise Forbidden("Only players who own the game can review it", code="not-owned")
    now = utcnow()
    review = Review(
        app_id=app_id,
        author_id=principal.user_id,
        recommended=body.recommended,
        body=body.body,
        language=body.language,
        playtime_at_review=copy.playtime_minutes,
        early_access=early_access,
        received_for_free=copy.received_for_free,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():  # a concurrent second review loses cleanly
            session.add(review)
            await session.flush()
    except IntegrityError as exc:
        raise _already_reviewed() from exc
    await summaries.count(session, ctx.events, ctx.cache, review, +1)
    await ctx.events.publish(
        session,
        "ReviewPosted",
        key=str(app_id),
        payload={
            "review_id": str(review.id),
            "app_id": app_id,
            "author_id": str(principal.user_id),
            "recommended": review.recommended,
            "language": review.language,
            "playtime_at_review": review.playtime_at_review,
            "early_access": review.early_access,
            "received_for_free": review.received_for_free,
        },
    )
    return review


async def visible_review(
    session: AsyncSession, review_id: uuid.UUID, viewer: Principal | None, *, lock: bool = False
) -> Review:
    """A review the viewer may see: hidden ones only to their author and to admins."""
    review = await repo.review(session, review_id, lock=lock)
    if review is None or (review.hidden and not _may_see_hidden(review, viewer)):
        raise NotFound("No such review")
    return review


def _may_see_hidden(review: Review, viewer: Principal | None) -> bool:
    return viewer is not None and (viewer.is_admin or viewer.user_id == review.author_id)


async def _own_review(session: AsyncSession, principal: Principal, review_id: uuid.UUID) -> Review:
    review = await visible_review(session, review_id, principal, lock=True)
    if review.author_id != principal.user_id:
        raise Forbidden("Only its author can change a review", code="not-author")
    return review


async def update_review(
    session: AsyncSession,
    ctx: ServiceContext,
    principal: Principal,
    review_id: uuid.UUID,
    body: ReviewUpdate,
) -> Review:
    review = await _own_review(session, principal, review_id)
    changes = body.model_dump(exclude_none=True)
    changed = sorted(name for name, value in changes.items() if getattr(review, name) != value)
    if not changed:
        return review
    flipped = "recommended" in changed
    for name in changed:
        setattr(review, name, changes[name])
    copy = await lookups.owned_copy(ctx, principal.user_id, review.app_id)
    now = utcnow()
    review.playtime_at_edit = copy.playtime_minutes if copy else review.playtime_at_edit
    review.edited_at = review.updated_at = now
    await session.flush()
    if flipped and not review.hidden:  # the counts move (and with them the cached pages)
        await summaries.move(
            session, ctx.events, ctx.cache, review, 0, 1 if review.recommended else -1
        )
    else:  # only the text the lists show changed
        summaries.forget_pages_after_commit(session, ctx.cache, review.app_id)
    await ctx.events.publish(
        session,
        "ReviewUpdated",
        key=str(review.app_id),
        payload={
            "review_id": str(review.id),
            "app_id": review.app_id,
            "author_id": str(review.author_id),
            "changed": changed,
            "recommended": review.recommended,
        },
    )
    return review


async def delete_review(
    session: AsyncSession, ctx: ServiceContext, principal: Principal, review_id: uuid.UUID
) -> None:
    """The author takes the review back (its votes and comments go with it); they may write a
    new one afterwards. A hidden one was neither counted nor listed: nothing cached changes."""
    review = await _own_review(session, principal, review_id)
    if not review.hidden:
        await summaries.count(session, ctx.events, ctx.cache, review, -1)
    await repo.close_reports(session, "review", review.id, "resolved", utcnow())
    await ctx.events.publish(
        session,
        "ReviewDeleted",
        key=str(review.app_id),
        payload={
            "review_id": str(review.id),
            "app_id": review.app_id,
            "author_id": str(review.author_id),
        },
    )
    await session.delete(review)
    await session.flush()


async def respond(
    session: AsyncSession,
    ctx: ServiceContext,
    principal: Principal,
    review_id: uuid.UUID,
    text: str | None,
) -> Review:
    """Set (or, with None, remove) the developer's one public response to a review."""
    review = await visible_review(session, review_id, principal, lock=True)
    if not await lookups.speaks_for_publisher(ctx, principal, review.app_id):
        raise Forbidden(
            "Only the game's publisher (or an admin) can respond to its reviews",
            code="not-publisher",
        )
    if text is None and review.response_body is None:
        raise NotFound("This review has no developer response")
    review.response_body = text
    review.response_by = principal.user_id if text is not None else None
    review.responded_at = utcnow() if text is not None else None
    await session.flush()
    summaries.forget_pages_after_commit(session, ctx.cache, review.app_id)  # not the counts
    return review
