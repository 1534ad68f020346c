"""Initial purchases schema: orders and their lines, entitlements, play sessions, product keys,
refund requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 12:09:06.067646
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
        "entitlements",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("gifted_by", sa.Uuid(), nullable=True),
        sa.Column("acquired_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("playtime_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "last_played_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("revoked_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
        sa.UniqueConstraint("user_id", "app_id", name=op.f("uq_entitlements_user_id_app_id")),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entitlements_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_entitlements_user_id_acquired_at", ["user_id", "acquired_at"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("open_user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_method", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("priced", sa.Boolean(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=True),
        sa.Column("card_brand", sa.String(length=20), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("failure_reason", sa.String(length=64), nullable=True),
        sa.Column("expires_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("open_user_id", name=op.f("uq_orders_open_user_id")),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_orders_user_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_status_updated_at", ["status", "updated_at"], unique=False)
        batch_op.create_index(
            "ix_orders_user_id_created_at", ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "play_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("started_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play_sessions")),
    )
    with op.batch_alter_table("play_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_play_sessions_user_app_started", ["user_id", "app_id", "started_at"], unique=False
        )

    op.create_table(
        "product_keys",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("redeemed_by", sa.Uuid(), nullable=True),
        sa.Column("redeemed_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_product_keys_key_hash")),
    )
    with op.batch_alter_table("product_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_keys_app_id"), ["app_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("final_price", sa.Integer(), nullable=False),
        sa.Column("amount_due", sa.Integer(), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "refund_requests",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lugx.platform.db.model.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_refund_requests_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_requests")),
        sa.UniqueConstraint("order_id", name=op.f("uq_refund_requests_order_id")),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_refund_requests_user_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_refund_requests_status_created_at", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    for table in (
        "refund_requests",
        "order_lines",
        "product_keys",
        "play_sessions",
        "orders",
        "entitlements",
    ):
        op.drop_table(table)
    drop_event_tables_op(op)
