"""HTTP endpoints of reviews, votes and comments (moderation is in moderation_routes.py).

Texts go out as JSON strings exactly as typed, never as HTML; the reviews service's answers are
not marked shareable, so the gateway's edge cache never keeps them (votes move them constantly).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, status
from starlette.responses import Response

from lugx.platform import http_cache
from lugx.platform.auth import CurrentUser, OptionalUser
from lugx.platform.db import DbSession
from lugx.platform.errors import NotFound
from lugx.platform.listing import Ctx, keyset_page
from lugx.platform.pagination import Cursor, Limit, Page
from lugx.platform.service import ServiceContext
from lugx.services.reviews import comments, service, summaries, votes
from lugx.services.reviews import repository as repo
from lugx.services.reviews.models import Review
from lugx.services.reviews.schemas import (
    CommentCreate,
    CommentRead,
    CommentVoteRead,
    Filter,
    Language,
    ResponseBody,
    ReviewCreate,
    ReviewRead,
    ReviewUpdate,
    Sort,
    SummaryRead,
    VoteBody,
    VoteRead,
)
from lugx.services.reviews.views import (
    comment_read,
    cursor_by,
    read_cursor,
    review_read,
    votes_of,
)

PREFIX = "/api/v1/reviews"
DEFAULT_PAGE = 20

router = APIRouter(prefix=PREFIX, tags=["reviews"])

AppId = Annotated[int, Path(ge=1, le=2_000_000_000)]


# --- a game's reviews -----------------------------------------------------------------------


@router.post(
    "/games/{app_id}/reviews", status_code=status.HTTP_201_CREATED, response_model=ReviewRead
)
async def post_review(
    app_id: AppId, body: ReviewCreate, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> ReviewRead:
    """Review a game you own: once per game (edit or delete it afterwards)."""
    return review_read(await service.post_review(session, ctx, principal, app_id, body))


@router.get("/games/{app_id}/reviews", response_model=Page[ReviewRead])
async def list_reviews(
    app_id: AppId,
    request: Request,
    sort: Sort = "helpful",
    filter: Filter = "all",
    language: Annotated[Language | None, Query()] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Response:
    """A game's visible reviews, most helpful (Wilson lower bound) or newest first. First
    pages are kept in the service's cache until the game's next change (or 30 s). A database
    session is opened only when the cache cannot answer."""
    ctx: ServiceContext = request.app.state.ctx
    list_name = f"reviews:{app_id}:{sort}:{filter}:{language or ''}"
    after = read_cursor(ctx.secret_key, cursor, list_name, timed=sort == "recent")
    if after is not None:
        return Response(
            await _page(ctx, app_id, list_name, after, limit), media_type=http_cache.JSON
        )
    generation, _ = await ctx.cache.counter(summaries.generation_key(app_id))
    key = f"{list_name}:{limit}:g{generation}"
    body = await ctx.cache.get(key)
    if body is None:
        body = await _page(ctx, app_id, list_name, None, limit)
        await ctx.cache.set(key, body, ttl=summaries.PAGE_TTL_SECONDS)
    return Response(body, media_type=http_cache.JSON)


async def _page(
    ctx: ServiceContext,
    app_id: int,
    list_name: str,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> bytes:
    _, _, sort, filter_, language = list_name.split(":")
    recommended = None if filter_ == "all" else filter_ == "positive"
    query = repo.page_query(
        app_id,
        sort=sort,
        recommended=recommended,
        language=language or None,
        after=after,
        limit=limit + 1,
    )
    async with ctx.db.session(write=False) as session:
        rows = await repo.reviews_page(session, query)
    key = cursor_by(list_name, "wilson_score" if sort == "helpful" else "created_at")
    return keyset_page(ctx.secret_key, rows, limit, review_read, key).model_dump_json().encode()


SUMMARY_MAX_AGE_SECONDS = 30


@router.get("/games/{app_id}/summary", response_model=SummaryRead)
async def summary(app_id: AppId, request: Request) -> Response:
    """Positive and negative counts and Steam's score description, all time and recent.
    Public for a little while: the gateway's edge cache may answer it, and drops it when the
    game's `GameReviewSummaryChanged` passes (or a review is posted through the gateway)."""
    ctx: ServiceContext = request.app.state.ctx
    body = await summaries.read(ctx.db, ctx.cache, app_id)
    max_age = http_cache.public_max_age(SUMMARY_MAX_AGE_SECONDS)
    return http_cache.respond(request, body, http_cache.etag_of(body), max_age)


@router.get("/games/{app_id}/reviews/mine", response_model=ReviewRead)
async def my_review(app_id: AppId, principal: CurrentUser, session: DbSession) -> ReviewRead:
    """The caller's review of the game (hidden or not), or 404."""
    review = await repo.review_of(session, app_id, principal.user_id)
    if review is None:
        raise NotFound("You have not reviewed this game")
    return review_read(review)


# --- one review -----------------------------------------------------------------------------


@router.get("/{review_id}", response_model=ReviewRead)
async def get_review(review_id: uuid.UUID, viewer: OptionalUser, session: DbSession) -> ReviewRead:
    return review_read(await service.visible_review(session, review_id, viewer))


@router.patch("/{review_id}", response_model=ReviewRead)
async def update_review(
    review_id: uuid.UUID, body: ReviewUpdate, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> ReviewRead:
    return review_read(await service.update_review(session, ctx, principal, review_id, body))


@router.delete("/{review_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_review(
    review_id: uuid.UUID, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> Response:
    await service.delete_review(session, ctx, principal, review_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{review_id}/response", response_model=ReviewRead)
async def respond(
    review_id: uuid.UUID, body: ResponseBody, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> ReviewRead:
    """The publisher's one public response to a review (set or replace)."""
    return review_read(await service.respond(session, ctx, principal, review_id, body.body))


@router.delete("/{review_id}/response", response_model=ReviewRead)
async def withdraw_response(
    review_id: uuid.UUID, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> ReviewRead:
    return review_read(await service.respond(session, ctx, principal, review_id, None))


# --- votes ----------------------------------------------------------------------------------


def _vote_read(review: Review, kind: votes.Kind, value: bool | None) -> VoteRead:
    return VoteRead(
        kind=kind, value=value, votes=votes_of(review), helpfulness=round(review.wilson_score, 6)
    )


@router.put("/{review_id}/votes/helpful", response_model=VoteRead)
async def vote_helpful(
    review_id: uuid.UUID, body: VoteBody, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> VoteRead:
    """Helpful (true) or not helpful (false); a second vote replaces the first."""
    review = await votes.vote_on_review(
        session, principal, review_id, "helpful", body.value, ctx.cache
    )
    return _vote_read(review, "helpful", body.value)


@router.delete("/{review_id}/votes/helpful", response_model=VoteRead)
async def unvote_helpful(
    review_id: uuid.UUID, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> VoteRead:
    review = await votes.vote_on_review(session, principal, review_id, "helpful", None, ctx.cache)
    return _vote_read(review, "helpful", None)


@router.put("/{review_id}/votes/funny", response_model=VoteRead)
async def vote_funny(
    review_id: uuid.UUID, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> VoteRead:
    review = await votes.vote_on_review(session, principal, review_id, "funny", True, ctx.cache)
    return _vote_read(review, "funny", True)


@router.delete("/{review_id}/votes/funny", response_model=VoteRead)
async def unvote_funny(
    review_id: uuid.UUID, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> VoteRead:
    review = await votes.vote_on_review(session, principal, review_id, "funny", None, ctx.cache)
    return _vote_read(review, "funny", None)


# --- comments -------------------------------------------------------------------------------


@router.post(
    "/{review_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentRead
)
async def add_comment(
    review_id: uuid.UUID, body: CommentCreate, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> CommentRead:
    return comment_read(
        await comments.add_comment(session, ctx.cache, principal, review_id, body.body)
    )


@router.get("/{review_id}/comments", response_model=Page[CommentRead])
async def list_comments(
    review_id: uuid.UUID,
    viewer: OptionalUser,
    session: DbSession,
    ctx: Ctx,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[CommentRead]:
    """A review's visible comments, oldest first."""
    await service.visible_review(session, review_id, viewer)
    list_name = f"comments:{review_id}"
    after = read_cursor(ctx.secret_key, cursor, list_name, timed=True)
    rows = await repo.comments_page(session, review_id, after=after, limit=limit + 1)
    return keyset_page(
        ctx.secret_key, rows, limit, comment_read, cursor_by(list_name, "created_at")
    )


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(
    comment_id: uuid.UUID, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> Response:
    await comments.delete_comment(session, ctx.cache, principal, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/comments/{comment_id}/votes/helpful", response_model=CommentVoteRead)
async def vote_comment(
    comment_id: uuid.UUID,
    principal: CurrentUser,
    session: DbSession,
    body: Annotated[VoteBody, Body()],
) -> CommentVoteRead:
    comment = await votes.vote_on_comment(session, principal, comment_id, body.value)
    return CommentVoteRead(
        value=body.value, helpful=comment.helpful_yes, not_helpful=comment.helpful_no
    )


@router.delete("/comments/{comment_id}/votes/helpful", response_model=CommentVoteRead)
async def unvote_comment(
    comment_id: uuid.UUID, principal: CurrentUser, session: DbSession
) -> CommentVoteRead:
    comment = await votes.vote_on_comment(session, principal, comment_id, None)
    return CommentVoteRead(value=None, helpful=comment.helpful_yes, not_helpful=comment.helpful_no)
