"""HTTP endpoints of reports (any signed-in player) and moderation (admins): hide and restore
reviews and comments, the report queue, dismissing reports, the moderation log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from lugx.platform.auth import CurrentUser, Principal, require_roles
from lugx.platform.db import DbSession
from lugx.platform.listing import Ctx, keyset_page
from lugx.platform.pagination import Cursor, Limit, Page
from lugx.services.reviews import moderation
from lugx.services.reviews import repository as repo
from lugx.services.reviews.routes import DEFAULT_PAGE, PREFIX
from lugx.services.reviews.schemas import (
    CommentRead,
    ModerationBody,
    ModerationRead,
    ReportCreate,
    ReportRead,
    ReportStatus,
    ReviewRead,
)
from lugx.services.reviews.views import (
    comment_read,
    cursor_by,
    moderation_read,
    read_cursor,
    report_read,
    review_read,
)

router = APIRouter(prefix=PREFIX, tags=["reviews: moderation"])

Admin = Annotated[Principal, Depends(require_roles("admin"))]


# --- reports --------------------------------------------------------------------------------


@router.post("/{review_id}/reports", status_code=status.HTTP_201_CREATED, response_model=ReportRead)
async def report_review(
    review_id: uuid.UUID, body: ReportCreate, principal: CurrentUser, session: DbSession
) -> ReportRead:
    """Report a review (once), with a reason from the list."""
    return report_read(await moderation.report(session, principal, "review", review_id, body))


@router.post(
    "/comments/{comment_id}/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportRead,
)
async def report_comment(
    comment_id: uuid.UUID, body: ReportCreate, principal: CurrentUser, session: DbSession
) -> ReportRead:
    return report_read(await moderation.report(session, principal, "comment", comment_id, body))


@router.get("/moderation/reports", response_model=Page[ReportRead])
async def report_queue(
    _admin: Admin,
    session: DbSession,
    ctx: Ctx,
    status: Annotated[ReportStatus, Query()] = "open",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[ReportRead]:
    """Reports in a status, oldest first (admins)."""
    list_name = f"reports:{status}"
    after = read_cursor(ctx.secret_key, cursor, list_name, timed=True)
    rows = await repo.reports_page(session, status=status, after=after, limit=limit + 1)
    return keyset_page(ctx.secret_key, rows, limit, report_read, cursor_by(list_name, "created_at"))


@router.post("/moderation/reports/{report_id}/dismiss", response_model=ReportRead)
async def dismiss_report(
    report_id: uuid.UUID, body: ModerationBody, principal: CurrentUser, session: DbSession
) -> ReportRead:
    return report_read(await moderation.dismiss_report(session, principal, report_id, body.reason))


# --- hiding and restoring -------------------------------------------------------------------


@router.post("/{review_id}/hide", response_model=ReviewRead)
async def hide_review(
    review_id: uuid.UUID, body: ModerationBody, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> ReviewRead:
    review = await moderation.set_review_hidden(
        session, ctx, principal, review_id, True, body.reason
    )
    return review_read(review)


@router.post("/{review_id}/restore", response_model=ReviewRead)
async def restore_review(
    review_id: uuid.UUID, body: ModerationBody, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> ReviewRead:
    review = await moderation.set_review_hidden(
        session, ctx, principal, review_id, False, body.reason
    )
    return review_read(review)


@router.post("/comments/{comment_id}/hide", response_model=CommentRead)
async def hide_comment(
    comment_id: uuid.UUID,
    body: ModerationBody,
    principal: CurrentUser,
    session: DbSession,
    ctx: Ctx,
) -> CommentRead:
    comment = await moderation.set_comment_hidden(
        session, ctx.cache, principal, comment_id, True, body.reason
    )
    return comment_read(comment)


@router.post("/comments/{comment_id}/restore", response_model=CommentRead)
async def restore_comment(
    comment_id: uuid.UUID,
    body: ModerationBody,
    principal: CurrentUser,
    session: DbSession,
    ctx: Ctx,
) -> CommentRead:
    comment = await moderation.set_comment_hidden(
        session, ctx.cache, principal, comment_id, False, body.reason
    )
    return comment_read(comment)


@router.get("/moderation/log", response_model=Page[ModerationRead])
async def moderation_log(
    _admin: Admin,
    session: DbSession,
    ctx: Ctx,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[ModerationRead]:
    """Every moderation action, newest first (admins)."""
    after = read_cursor(ctx.secret_key, cursor, "moderation", timed=True)
    rows = await repo.moderation_page(session, after=after, limit=limit + 1)
    key = cursor_by("moderation", "created_at")
    return keyset_page(ctx.secret_key, rows, limit, moderation_read, key)
