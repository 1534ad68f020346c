"""Reports and moderation. Players report a review or a comment once each, with a reason from a
fixed list; admins hide and restore reviews and comments and dismiss reports, every action
written to the moderation log with who did it and why. A hidden review leaves its game's
summary and lists (its author still sees it); hiding resolves the target's open reports."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.cache import Cache
from lugx.platform.db import utcnow
from lugx.platform.errors import Conflict, Forbidden, NotFound
from lugx.platform.service import ServiceContext
from lugx.services.reviews import repository as repo
from lugx.services.reviews import summaries
from lugx.services.reviews.comments import visible_comment
from lugx.services.reviews.models import Comment, ModerationAction, Report, Review
from lugx.services.reviews.schemas import ReportCreate

Target = Literal["review", "comment"]


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Moderation needs the admin role")


async def report(
    session: AsyncSession,
    principal: Principal,
    target: Target,
    target_id: uuid.UUID,
    body: ReportCreate,
) -> Report:
    author_id, app_id = await _reportable(session, target, target_id)
    if author_id == principal.user_id:
        raise Forbidden(f"You cannot report your own {target}", code="own-content")
    if await repo.report_by(session, target, target_id, principal.user_id) is not None:
        raise _reported_twice(target)
    row = Report(
        target_type=target,
        target_id=target_id,
        app_id=app_id,
        reporter_id=principal.user_id,
        reason=body.reason,
        details=body.details,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():  # the same report sent twice at once
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise _reported_twice(target) from exc
    return row


def _reported_twice(target: str) -> Conflict:
    return Conflict(f"You have already reported this {target}", code="already-reported")


async def _reportable(
    session: AsyncSession, target: Target, target_id: uuid.UUID
) -> tuple[uuid.UUID, int]:
    """(author, app_id) of a visible review or comment."""
    if target == "review":
        review = await repo.review(session, target_id)
        if review is None or review.hidden:
            raise NotFound("No such review")
        return review.author_id, review.app_id
    comment = await visible_comment(session, target_id)
    parent = await repo.review(session, comment.review_id)
    if parent is None or parent.hidden:
        raise NotFound("No such comment")
    return comment.author_id, parent.app_id


async def set_review_hidden(
    session: AsyncSession,
    ctx: ServiceContext,
    principal: Principal,
    review_id: uuid.UUID,
    hidden: bool,
    reason: str,
) -> Review:
    require_admin(principal)
    review = await repo.review(session, review_id, lock=True)
    if review is None:
        raise NotFound("No such review")
    if review.hidden == hidden:
        raise Conflict(
            f"The review is already {'hidden' if hidden else 'visible'}", code="no-change"
        )
    review.hidden = hidden
    await session.flush()
    await summaries.count(session, ctx.events, ctx.cache, review, -1 if hidden else +1)
    await _log(
        session,
        principal,
        "hide" if hidden else "restore",
        "review",
        review.id,
        review.app_id,
        reason,
    )
    if hidden:
        await repo.close_reports(session, "review", review.id, "resolved", utcnow())
    await ctx.events.publish(
        session,
        "ReviewHidden" if hidden else "ReviewRestored",
        key=str(review.app_id),
        payload={
            "review_id": str(review.id),
            "app_id": review.app_id,
            "author_id": str(review.author_id),
            "moderator_id": str(principal.user_id),
            "reason": reason,
        },
    )
    return review


async def set_comment_hidden(
    session: AsyncSession,
    cache: Cache,
    principal: Principal,
    comment_id: uuid.UUID,
    hidden: bool,
    reason: str,
) -> Comment:
    require_admin(principal)
    comment = await repo.comment(session, comment_id, lock=True)
    if comment is None:
        raise NotFound("No such comment")
    if comment.hidden == hidden:
        raise Conflict(
            f"The comment is already {'hidden' if hidden else 'visible'}", code="no-change"
        )
    parent = await repo.review(session, comment.review_id)
    comment.hidden = hidden
    await repo.add_comment_count(session, comment.review_id, -1 if hidden else +1)
    app_id = parent.app_id if parent is not None else 0
    summaries.forget_pages_after_commit(session, cache, app_id)  # comment counts
    await _log(
        session, principal, "hide" if hidden else "restore", "comment", comment.id, app_id, reason
    )
    if hidden:
        await repo.close_reports(session, "comment", comment.id, "resolved", utcnow())
    await session.flush()
    return comment


async def dismiss_report(
    session: AsyncSession, principal: Principal, report_id: uuid.UUID, reason: str
) -> Report:
    require_admin(principal)
    row = await repo.report(session, report_id)
    if row is None:
        raise NotFound("No such report")
    if row.status != "open":
        raise Conflict(f"The report is already {row.status}", code="no-change")
    row.status, row.closed_at = "dismissed", utcnow()
    await _log(session, principal, "dismiss", row.target_type, row.target_id, row.app_id, reason)
    await session.flush()
    return row


async def _log(
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    target_id: uuid.UUID,
    app_id: int,
    reason: str,
) -> None:
    session.add(
        ModerationAction(
            moderator_id=principal.user_id,
            action=action,
            target_type=target,
            target_id=target_id,
            app_id=app_id,
            reason=reason,
            created_at=utcnow(),
        )
    )
    await session.flush()
