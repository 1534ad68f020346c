"""Turning rows into what the API shows, and the signed cursors of its lists."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from lugx.platform.errors import BadRequest
from lugx.platform.pagination import decode_cursor
from lugx.services.reviews.models import Comment, ModerationAction, Report, Review
from lugx.services.reviews.schemas import (
    CommentRead,
    DeveloperResponse,
    ModerationRead,
    ReportRead,
    ReviewRead,
    Votes,
)


def votes_of(review: Review) -> Votes:
    return Votes(helpful=review.helpful_yes, not_helpful=review.helpful_no, funny=review.funny)


def review_read(review: Review) -> ReviewRead:
    response = (
        DeveloperResponse(body=review.response_body, responded_at=review.responded_at)
        if review.response_body is not None and review.responded_at is not None
        else None
    )
    return ReviewRead(
        id=review.id,
        app_id=review.app_id,
        author_id=review.author_id,
        recommended=review.recommended,
        body=review.body,
        language=review.language,
        playtime_at_review=review.playtime_at_review,
        playtime_at_edit=review.playtime_at_edit,
        early_access=review.early_access,
        received_for_free=review.received_for_free,
        votes=votes_of(review),
        helpfulness=round(review.wilson_score, 6),
        comment_count=review.comment_count,
        developer_response=response,
        hidden=review.hidden,
        created_at=review.created_at,
        updated_at=review.updated_at,
        edited_at=review.edited_at,
    )


def comment_read(comment: Comment) -> CommentRead:
    return CommentRead(
        id=comment.id,
        review_id=comment.review_id,
        author_id=comment.author_id,
        body=comment.body,
        helpful=comment.helpful_yes,
        not_helpful=comment.helpful_no,
        hidden=comment.hidden,
        created_at=comment.created_at,
    )


def report_read(report: Report) -> ReportRead:
    return ReportRead.model_validate(report, from_attributes=True)


def moderation_read(action: ModerationAction) -> ModerationRead:
    return ModerationRead.model_validate(action, from_attributes=True)


# --- cursors --------------------------------------------------------------------------------
# A cursor names the list it belongs to (`l`), so one list's cursor is refused by another.


class Listed(Protocol):
    """A row of a list: sorted by one of its fields, then by its id."""

    @property
    def id(self) -> uuid.UUID: ...


def cursor_by(list_name: str, field: str) -> Callable[[Listed], dict[str, Any]]:
    """The cursor key (for `keyset_page`) of a row of `list_name` sorted by `field` then id."""

    def key(row: Listed) -> dict[str, Any]:
        value = getattr(row, field)
        value = value.isoformat() if isinstance(value, datetime) else value
        return {"l": list_name, "k": value, "id": str(row.id)}

    return key


def read_cursor(
    secret: bytes, cursor: str | None, list_name: str, *, timed: bool
) -> tuple[Any, uuid.UUID] | None:
    """(key, id) of a cursor of this list; the key is a datetime for `timed` lists."""
    if cursor is None:
        return None
    data = decode_cursor(secret, cursor)
    try:
        if data.get("l") != list_name:
            raise ValueError("another list's cursor")
        key = data["k"]
        if timed:
            key = datetime.fromisoformat(key)
        elif not isinstance(key, int | float) or isinstance(key, bool):
            raise ValueError("not a score")
        return key, uuid.UUID(data["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest("The cursor is not valid for this list", code="invalid-cursor") from exc
