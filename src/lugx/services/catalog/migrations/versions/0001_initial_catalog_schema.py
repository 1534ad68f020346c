"""Initial catalog schema: publishers, games, genres, tags, prices, discounts, bundles.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 09:33:27.434086
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
        "app_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_numbers")),
    )
    op.create_table(
        "genres",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genres")),
        sa.UniqueConstraint("slug", name=op.f("uq_genres_slug")),
    )
    op.create_table(
        "publishers",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=140), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishers")),
        sa.UniqueConstraint("slug", name=op.f("uq_publishers_slug")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("slug", name=op.f("uq_tags_slug")),
    )
    op.create_table(
        "games",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=220), nullable=False),
        sa.Column("short_description", sa.String(length=500), nullable=False),
        sa.Column("long_description", sa.Text(), nullable=False),
        sa.Column("developers", sa.JSON(), nullable=False),
        sa.Column("publisher_id", sa.Uuid(), nullable=False),
        sa.Column("publisher_name", sa.String(length=120), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("coming_soon", sa.Boolean(), nullable=False),
        sa.Column("early_access", sa.Boolean(), nullable=False),
        sa.Column("age_rating", sa.String(length=16), nullable=True),
        sa.Column("platforms_mask", sa.Integer(), nullable=False),
        sa.Column("features_mask", sa.Integer(), nullable=False),
        sa.Column("supported_languages", sa.JSON(), nullable=False),
        sa.Column("header_image", sa.String(length=2048), nullable=True),
        sa.Column("screenshots", sa.JSON(), nullable=False),
        sa.Column("trailers", sa.JSON(), nullable=False),
        sa.Column("system_requirements", sa.JSON(), nullable=False),
        sa.Column("base_game_id", sa.Uuid(), nullable=True),
        sa.Column("base_price", sa.Integer(), nullable=False),
        sa.Column("discount_percent", sa.Integer(), nullable=True),
        sa.Column(
            "discount_starts_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "discount_ends_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("bundle_discount_percent", sa.Integer(), nullable=False),
        sa.Column("popularity", sa.Integer(), nullable=False),
        sa.Column("review_total", sa.Integer(), nullable=False),
        sa.Column("review_positive", sa.Integer(), nullable=False),
        sa.Column("review_score", sa.Integer(), nullable=True),
        sa.Column("review_description", sa.String(length=40), nullable=True),
        sa.Column("recent_review_score", sa.Integer(), nullable=True),
        sa.Column("recent_review_description", sa.String(length=40), nullable=True),
        sa.Column("is_featured", sa.Boolean(), nullable=False),
        sa.Column("published_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_game_id"],
            ["games.id"],
            name=op.f("fk_games_base_game_id_games"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["publisher_id"], ["publishers.id"], name=op.f("fk_games_publisher_id_publishers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_games")),
        sa.UniqueConstraint("app_id", name=op.f("uq_games_app_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_games_slug")),
    )
    with op.batch_alter_table("games", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_games_base_game_id"), ["base_game_id"], unique=False)
        batch_op.create_index("ix_games_base_price", ["base_price"], unique=False)
        batch_op.create_index("ix_games_popularity", ["popularity"], unique=False)
        batch_op.create_index(batch_op.f("ix_games_publisher_id"), ["publisher_id"], unique=False)
        batch_op.create_index("ix_games_release_date", ["release_date"], unique=False)
        batch_op.create_index("ix_games_review_score", ["review_score"], unique=False)
        batch_op.create_index("ix_games_status_type", ["status", "type"], unique=False)

    op.create_table(
        "publisher_members",
        sa.Column("publisher_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["publishers.id"],
            name=op.f("fk_publisher_members_publisher_id_publishers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publisher_id", "user_id", name=op.f("pk_publisher_members")),
    )
    with op.batch_alter_table("publisher_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publisher_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bundle_items",
        sa.Column("bundle_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["games.id"],
            name=op.f("fk_bundle_items_bundle_id_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["games.id"],
            name=op.f("fk_bundle_items_item_id_games"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bundle_id", "item_id", name=op.f("pk_bundle_items")),
    )
    with op.batch_alter_table("bundle_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bundle_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "discounts",
        sa.Column("game_id", sa.Uuid(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("starts_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("start_announced", sa.Boolean(), nullable=False),
        sa.Column("end_announced", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_discounts_game_id_games"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discounts")),
    )
    with op.batch_alter_table("discounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discounts_ends_at"), ["ends_at"], unique=False)
        batch_op.create_index(
            "ix_discounts_game_id_starts_at", ["game_id", "starts_at"], unique=False
        )

    op.create_table(
        "game_genres",
        sa.Column("game_id", sa.Uuid(), nullable=False),
        sa.Column("genre_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_game_genres_game_id_games"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["genre_id"],
            ["genres.id"],
            name=op.f("fk_game_genres_genre_id_genres"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("game_id", "genre_id", name=op.f("pk_game_genres")),
    )
    with op.batch_alter_table("game_genres", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_game_genres_genre_id"), ["genre_id"], unique=False)

    op.create_table(
        "game_prices",
        sa.Column("game_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_game_prices_game_id_games"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("game_id", "currency", name=op.f("pk_game_prices")),
    )
    op.create_table(
        "game_tags",
        sa.Column("game_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_game_tags_game_id_games"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_game_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("game_id", "tag_id", name=op.f("pk_game_tags")),
    )
    with op.batch_alter_table("game_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_game_tags_tag_id"), ["tag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("game_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_game_tags_tag_id"))

    op.drop_table("game_tags")
    op.drop_table("game_prices")
    with op.batch_alter_table("game_genres", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_game_genres_genre_id"))

    op.drop_table("game_genres")
    with op.batch_alter_table("discounts", schema=None) as batch_op:
        batch_op.drop_index("ix_discounts_game_id_starts_at")
        batch_op.drop_index(batch_op.f("ix_discounts_ends_at"))

    op.drop_table("discounts")
    with op.batch_alter_table("bundle_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bundle_items_item_id"))

    op.drop_table("bundle_items")
    with op.batch_alter_table("publisher_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publisher_members_user_id"))

    op.drop_table("publisher_members")
    with op.batch_alter_table("games", schema=None) as batch_op:
        batch_op.drop_index("ix_games_status_type")
        batch_op.drop_index("ix_games_review_score")
        batch_op.drop_index("ix_games_release_date")
        batch_op.drop_index(batch_op.f("ix_games_publisher_id"))
        batch_op.drop_index("ix_games_popularity")
        batch_op.drop_index("ix_games_base_price")
        batch_op.drop_index(batch_op.f("ix_games_base_game_id"))

    op.drop_table("games")
    op.drop_table("tags")
    op.drop_table("publishers")
    op.drop_table("genres")
    op.drop_table("app_numbers")
    drop_event_tables_op(op)
