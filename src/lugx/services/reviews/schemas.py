"""Request and response bodies of the reviews service.

Texts are plain text: stored exactly as typed (only leading and trailing blanks dropped) and
returned the same way in JSON, never as HTML; a client shows them escaped. Control characters
other than line breaks and tabs are refused (PostgreSQL cannot even store a NUL).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

REVIEW_MAX = 8_000
COMMENT_MAX = 2_000
RESPONSE_MAX = 8_000
REASON_MAX = 1_000

Sort = Literal["helpful", "recent"]
Filter = Literal["all", "positive", "negative"]
ReportReason = Literal[
    "spam",
    "offensive",
    "harassment",
    "off_topic",
    "spoilers",
    "cheating",
    "personal_information",
    "other",
]
ReportStatus = Literal["open", "resolved", "dismissed"]
TargetType = Literal["review", "comment"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("text must not contain control characters")
    return text


ReviewText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=REVIEW_MAX),
    AfterValidator(_no_control_characters),
]
CommentText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=COMMENT_MAX),
    AfterValidator(_no_control_characters),
]
ResponseText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=RESPONSE_MAX),
    AfterValidator(_no_control_characters),
]
ReasonText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX),
    AfterValidator(_no_control_characters),
]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests -------------------------------------------------------------------------------


class ReviewCreate(Strict):
    recommended: StrictBool
    body: ReviewText
    language: Language = "en"


class ReviewUpdate(Strict):
    recommended: StrictBool | None = None
    body: ReviewText | None = None
    language: Language | None = None


class VoteBody(Strict):
    value: StrictBool = Field(description="helpful: true (helpful) or false (not helpful)")


class CommentCreate(Strict):
    body: CommentText


class ReportCreate(Strict):
    reason: ReportReason
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX)] = ""


class ResponseBody(Strict):
    body: ResponseText


class ModerationBody(Strict):
    reason: ReasonText


# --- responses ------------------------------------------------------------------------------


class Votes(BaseModel):
    helpful: int
    not_helpful: int
    funny: int


class DeveloperResponse(BaseModel):
    body: str
    responded_at: datetime


class ReviewRead(BaseModel):
    id: uuid.UUID
    app_id: int
    author_id: uuid.UUID
    recommended: bool
    body: str = Field(description="Plain text, exactly as written: show it escaped")
    language: str
    playtime_at_review: int = Field(description="Minutes played when the review was written")
    playtime_at_edit: int | None = Field(description="Minutes played at the last edit")
    early_access: bool = Field(description="Written while the game was in early access")
    received_for_free: bool
    votes: Votes
    helpfulness: float = Field(description="Wilson lower bound of the helpful share (0-1)")
    comment_count: int
    developer_response: DeveloperResponse | None
    hidden: bool
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None


class CommentRead(BaseModel):
    id: uuid.UUID
    review_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    helpful: int
    not_helpful: int
    hidden: bool
    created_at: datetime


class VoteRead(BaseModel):
    kind: Literal["helpful", "funny"]
    value: bool | None = Field(description="null once the vote is removed")
    votes: Votes
    helpfulness: float


class CommentVoteRead(BaseModel):
    value: bool | None
    helpful: int
    not_helpful: int


class ScoreRead(BaseModel):
    total: int
    positive: int
    negative: int
    score: int | None = Field(description="Percent positive, rounded down; null under 10")
    description: str | None


class SummaryRead(BaseModel):
    app_id: int
    all_time: ScoreRead
    recent: ScoreRead = Field(description="Reviews written in the last 30 days")


class ReportRead(BaseModel):
    id: uuid.UUID
    target_type: TargetType
    target_id: uuid.UUID
    app_id: int
    reporter_id: uuid.UUID
    reason: str
    details: str
    status: str
    created_at: datetime
    closed_at: datetime | None


class ModerationRead(BaseModel):
    id: uuid.UUID
    moderator_id: uuid.UUID
    action: str
    target_type: TargetType
    target_id: uuid.UUID
    app_id: int
    reason: str
    created_at: datetime
