"""Initial reviews schema: reviews, votes, comments, reports, moderation log, summaries.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 12:08:32.992511
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lugx.platform.db
from lugx.platform.events import create_event_tables_op, drop_event_tables_op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables_op(op)
    op.create_table(
        "moderation_log",
        sa.Column("moderator_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("target_type", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_log")),
    )
    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_log_recent", ["created_at", "id"], unique=False)

    op.create_table(
        "review_days",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "day", name=op.f("pk_review_days")),
    )
    op.create_table(
        "review_reports",
        sa.Column("target_type", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'dismissed')", name=op.f("ck_review_reports_status")
        ),
        sa.CheckConstraint(
            "target_type IN ('review', 'comment')", name=op.f("ck_review_reports_target_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reports")),
        sa.UniqueConstraint(
            "target_type",
            "target_id",
            "reporter_id",
            name=op.f("uq_review_reports_target_type_target_id_reporter_id"),
        ),
    )
    with op.batch_alter_table("review_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_reports_queue", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "review_summaries",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("recent_total", sa.Integer(), nullable=False),
        sa.Column("recent_positive", sa.Integer(), nullable=False),
        sa.Column("recent_as_of", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_review_summaries")),
    )
    op.create_table(
        "reviews",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("recommended", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("playtime_at_review", sa.Integer(), nullable=False),
        sa.Column("playtime_at_edit", sa.Integer(), nullable=True),
        sa.Column("early_access", sa.Boolean(), nullable=False),
        sa.Column("received_for_free", sa.Boolean(), nullable=False),
        sa.Column("edited_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("helpful_yes", sa.Integer(), nullable=False),
        sa.Column("helpful_no", sa.Integer(), nullable=False),
        sa.Column("funny", sa.Integer(), nullable=False),
        sa.Column("wilson_score", sa.Double(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_by", sa.Uuid(), nullable=True),
        sa.Column("responded_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("app_id", "author_id", name=op.f("uq_reviews_app_id_author_id")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_author", ["author_id"], unique=False)
        batch_op.create_index(
            "ix_reviews_helpful", ["app_id", "hidden", "wilson_score", "id"], unique=False
        )
        batch_op.create_index(
            "ix_reviews_recent", ["app_id", "hidden", "created_at", "id"], unique=False
        )

    op.create_table(
        "review_comments",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("helpful_yes", sa.Integer(), nullable=False),
        sa.Column("helpful_no", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_comments_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_comments")),
    )
    with op.batch_alter_table("review_comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_comments_thread", ["review_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "review_votes",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('helpful', 'funny')", name=op.f("ck_review_votes_kind")),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_votes_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", "user_id", "kind", name=op.f("pk_review_votes")),
    )
    op.create_table(
        "comment_votes",
        sa.Column("comment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["review_comments.id"],
            name=op.f("fk_comment_votes_comment_id_review_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("comment_id", "user_id", name=op.f("pk_comment_votes")),
    )


def downgrade() -> None:
    op.drop_table("comment_votes")
    op.drop_table("review_votes")
    with op.batch_alter_table("review_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_review_comments_thread")

    op.drop_table("review_comments")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_recent")
        batch_op.drop_index("ix_reviews_helpful")
        batch_op.drop_index("ix_reviews_author")

    op.drop_table("reviews")
    op.drop_table("review_summaries")
    with op.batch_alter_table("review_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_review_reports_queue")

    op.drop_table("review_reports")
    op.drop_table("review_days")
    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_log_recent")

    op.drop_table("moderation_log")
    drop_event_tables_op(op)
