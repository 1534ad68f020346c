"""The reviews service's tables. No other service reads them.

A review row carries its own vote counters and its Wilson score, kept in the vote's transaction,
so the helpful page is one index range (`ix_reviews_helpful`) and never a join or a COUNT. A
game's totals live in one summary row, and its recent totals in one row per game and day: both
changed incrementally with the review that changes them, so a summary reads at most 31 rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lugx.platform.db import Timestamps, UTCDateTime, UUIDPrimaryKey, new_metadata, utcnow
from lugx.platform.events import event_tables

TARGETS = ("review", "comment")
REPORT_REASONS = (
    "spam",
    "offensive",
    "harassment",
    "off_topic",
    "spoilers",
    "cheating",
    "personal_information",
    "other",
)
REPORT_STATUSES = ("open", "resolved", "dismissed")
MODERATION_ACTIONS = ("hide", "restore", "dismiss")


class Base(DeclarativeBase):
    metadata = new_metadata()


EVENTS = event_tables(Base.metadata)


class Review(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("app_id", "author_id"),  # one review per player and game
        # The helpful and recent pages: one range of an index each, read backwards (ORDER BY
        # wilson_score DESC, id DESC is this index's order reversed; see repository.py).
        Index("ix_reviews_helpful", "app_id", "hidden", "wilson_score", "id"),
        Index("ix_reviews_recent", "app_id", "hidden", "created_at", "id"),
        Index("ix_reviews_author", "author_id"),
    )

    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    author_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    recommended: Mapped[bool] = mapped_column(Boolean, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # exactly as typed: plain text
    language: Mapped[str] = mapped_column(String(16), nullable=False)
    playtime_at_review: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    playtime_at_edit: Mapped[int | None] = mapped_column(Integer)
    early_access: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    received_for_free: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    helpful_yes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    funny: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    wilson_score: Mapped[float] = mapped_column(Double, nullable=False, default=0.0)
    comment_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    response_body: Mapped[str | None] = mapped_column(Text)
    response_by: Mapped[uuid.UUID | None] = mapped_column()
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewVote(Base):
    """One per user, review and kind ("helpful": yes/no; "funny": always true)."""

    __tablename__ = "review_votes"
    __table_args__ = (CheckConstraint("kind IN ('helpful', 'funny')", name="kind"),)

    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Comment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "review_comments"
    __table_args__ = (Index("ix_review_comments_thread", "review_id", "created_at", "id"),)

    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False
    )
    author_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    helpful_yes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class CommentVote(Base):
    __tablename__ = "comment_votes"

    comment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    value: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Report(UUIDPrimaryKey, Base):
    """A player's report of a review or a comment; once per reporter and target."""

    __tablename__ = "review_reports"
    __table_args__ = (
        UniqueConstraint("target_type", "target_id", "reporter_id"),
        Index("ix_review_reports_queue", "status", "created_at", "id"),
        CheckConstraint("target_type IN ('review', 'comment')", name="target_type"),
        CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name="status"),
    )

    target_type: Mapped[str] = mapped_column(String(8), nullable=False)
    target_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    reporter_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    details: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModerationAction(UUIDPrimaryKey, Base):
    """The moderation log: who did what to which review or comment, and why. Never edited."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_recent", "created_at", "id"),)

    moderator_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    target_type: Mapped[str] = mapped_column(String(8), nullable=False)
    target_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    app_id: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class GameSummary(Base):
    """A game's visible reviews, all time. `revision` grows with every change, so a reader of
    the events can tell an older summary from a newer one."""

    __tablename__ = "review_summaries"

    app_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    positive: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The recent window as last published: the refresher republishes when a day leaves it.
    recent_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    recent_positive: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    recent_as_of: Mapped[date | None] = mapped_column(Date)


class GameDay(Base):
    """A game's visible reviews written on one day (UTC), for the recent (30 days) score."""

    __tablename__ = "review_days"

    app_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    positive: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
