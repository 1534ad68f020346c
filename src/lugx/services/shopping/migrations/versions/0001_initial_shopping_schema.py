"""Initial shopping schema: carts, wishlists, coupons and their uses, checkouts, known prices.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 12:08:34.482462
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
        "carts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("coupon_code", sa.String(length=32), nullable=True),
        sa.Column("checkout_order_id", sa.Uuid(), nullable=True),
        sa.Column(
            "checkout_started_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_carts_user_id")),
    )
    op.create_table(
        "checkouts",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_checkouts")),
    )
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkouts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "coupons",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("code_key", sa.String(length=32), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("valid_from", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("app_ids", sa.JSON(), nullable=False),
        sa.Column("min_subtotal", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("max_uses_per_user", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code_key", name=op.f("uq_coupons_code_key")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupons_created_by"), ["created_by"], unique=False)

    op.create_table(
        "known_prices",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("base_price", sa.Integer(), nullable=False),
        sa.Column("final_price", sa.Integer(), nullable=False),
        sa.Column("discount_percent", sa.Integer(), nullable=False),
        sa.Column(
            "sale_started_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("as_of", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_known_prices")),
    )
    op.create_table(
        "wishlist_items",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("header_image", sa.String(length=2048), nullable=True),
        sa.Column("added_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("alert_target", sa.Integer(), nullable=True),
        sa.Column(
            "alert_fired_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishlist_items")),
        sa.UniqueConstraint("user_id", "app_id", name=op.f("uq_wishlist_items_user_id_app_id")),
    )
    with op.batch_alter_table("wishlist_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wishlist_items_app_id"), ["app_id"], unique=False)
        batch_op.create_index(
            "ix_wishlist_items_user_id_priority", ["user_id", "priority", "app_id"], unique=False
        )

    op.create_table(
        "wishlists",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_wishlists")),
    )
    op.create_table(
        "cart_items",
        sa.Column("cart_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("header_image", sa.String(length=2048), nullable=True),
        sa.Column("added_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_items_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_items")),
        sa.UniqueConstraint("cart_id", "app_id", name=op.f("uq_cart_items_cart_id_app_id")),
    )
    with op.batch_alter_table("cart_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cart_items_cart_id"), ["cart_id"], unique=False)

    op.create_table(
        "coupon_uses",
        sa.Column("coupon_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("discount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_uses_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_uses")),
        sa.UniqueConstraint(
            "coupon_id", "order_id", name=op.f("uq_coupon_uses_coupon_id_order_id")
        ),
    )
    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coupon_uses_coupon_id_user_id", ["coupon_id", "user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_coupon_uses_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_uses_order_id"))
        batch_op.drop_index("ix_coupon_uses_coupon_id_user_id")

    op.drop_table("coupon_uses")
    with op.batch_alter_table("cart_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cart_items_cart_id"))

    op.drop_table("cart_items")
    op.drop_table("wishlists")
    with op.batch_alter_table("wishlist_items", schema=None) as batch_op:
        batch_op.drop_index("ix_wishlist_items_user_id_priority")
        batch_op.drop_index(batch_op.f("ix_wishlist_items_app_id"))

    op.drop_table("wishlist_items")
    op.drop_table("known_prices")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_created_by"))

    op.drop_table("coupons")
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkouts_user_id"))

    op.drop_table("checkouts")
    op.drop_table("carts")
    drop_event_tables_op(op)
