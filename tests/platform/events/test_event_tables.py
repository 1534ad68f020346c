"""The event tables: created by `metadata.create_all` and by the Alembic helper alike."""

from __future__ import annotations

from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, inspect

from lugx.platform.db import Database, new_metadata
from lugx.platform.events import create_event_tables_op, drop_event_tables_op, event_tables
from lugx.platform.events.tables import DEAD_LETTERS, INBOX, OUTBOX

EVENT_TABLES = {OUTBOX, INBOX, DEAD_LETTERS}


def describe(conn: Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    out: dict[str, Any] = {}
    for table in sorted(EVENT_TABLES & set(inspector.get_table_names())):
        out[table] = {
            "columns": {
                c["name"]: (str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            },
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
            ),
        }
    return out


def test_event_tables_adds_three_tables_once() -> None:
    metadata = new_metadata()
    tables = event_tables(metadata)
    again = event_tables(metadata)
    assert again.outbox is tables.outbox
    assert set(metadata.tables) == EVENT_TABLES
    assert [c.name for c in tables.inbox.primary_key.columns] == ["consumer", "event_id"]
    assert {i.name for i in tables.outbox.indexes} == {"ix_event_outbox_due"}
    assert tables.outbox.c.published_at.nullable
    assert tables.dead_letters.c.replayed_at.nullable


async def test_alembic_helper_creates_the_same_schema_as_create_all(database_url: str) -> None:
    db = Database(database_url)
    metadata = new_metadata()
    event_tables(metadata)

    def migrate(conn: Connection, step: Any) -> None:
        step(Operations(MigrationContext.configure(conn)))

    try:
        async with db.writer.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
            from_metadata = await conn.run_sync(describe)
            await conn.run_sync(metadata.drop_all)

            await conn.run_sync(migrate, create_event_tables_op)
            from_migration = await conn.run_sync(describe)
            await conn.run_sync(migrate, drop_event_tables_op)
            after_downgrade = await conn.run_sync(describe)
    finally:
        await db.dispose()

    assert set(from_metadata) == EVENT_TABLES
    assert from_migration == from_metadata
    assert after_downgrade == {}
