"""The three event tables every service keeps in its own database.

- `event_outbox`: events written in the same transaction as the change they describe; the relay
  publishes them and stamps `published_at`.
- `event_inbox`: one row per (consumer, event id) this service has handled, so a redelivered event
  changes nothing; also counts failed attempts.
- `event_dead_letters`: events a handler kept failing on, kept whole for an operator to replay.

The names carry an `event_` prefix so they never collide with a service's own tables (the
notifications service owns a user-facing "inbox").

Tests and the embedded quick start create them with `metadata.create_all`; a service's Alembic
history creates them with `create_event_tables_op(op)` in its first migration. Both build the
tables from the same column definitions, with explicit constraint names, so they match exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.naming import conv

from lugx.platform.db import UTCDateTime

if TYPE_CHECKING:
    from alembic.operations import Operations

OUTBOX = "event_outbox"
INBOX = "event_inbox"
DEAD_LETTERS = "event_dead_letters"

# Inbox statuses: `done` (handled, never again), `failed` (last attempt failed, will be retried),
# `dead` (gave up: a dead letter holds the event until an operator replays it).
INBOX_DONE = "done"
INBOX_FAILED = "failed"
INBOX_DEAD = "dead"


@dataclass(frozen=True, slots=True)
class EventTables:
    outbox: Table
    inbox: Table
    dead_letters: Table


def _outbox_items() -> list[SchemaItem]:
    return [
        Column("id", Uuid(), nullable=False),
        Column("type", String(100), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("key", String(200), nullable=False),
        Column("producer", String(100), nullable=False),
        Column("payload", Text(), nullable=False),  # JSON text
        Column("occurred_at", UTCDateTime(), nullable=False),
        Column("attempts", Integer(), nullable=False, server_default="0"),
        Column("next_attempt_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True),
        Column("last_error", Text(), nullable=True),
        PrimaryKeyConstraint("id", name=conv(f"pk_{OUTBOX}")),
    ]


def _inbox_items() -> list[SchemaItem]:
    return [
        Column("consumer", String(100), nullable=False),
        Column("event_id", Uuid(), nullable=False),
        Column("type", String(100), nullable=False),
        Column("status", String(10), nullable=False),
        Column("attempts", Integer(), nullable=False, server_default="0"),
        Column("last_error", Text(), nullable=True),
        Column("handled_at", UTCDateTime(), nullable=False),
        PrimaryKeyConstraint("consumer", "event_id", name=conv(f"pk_{INBOX}")),
        CheckConstraint(
            f"status IN ('{INBOX_DONE}', '{INBOX_FAILED}', '{INBOX_DEAD}')",
            name=conv(f"ck_{INBOX}_status"),
        ),
    ]


def _dead_letter_items() -> list[SchemaItem]:
    return [
        Column("id", Uuid(), nullable=False),
        Column("consumer", String(100), nullable=False),
        Column("event_id", Uuid(), nullable=False),
        Column("type", String(100), nullable=False),
        Column("envelope", Text(), nullable=False),  # the whole event, JSON text
        Column("error", Text(), nullable=False),
        Column("attempts", Integer(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("replayed_at", UTCDateTime(), nullable=True),
        PrimaryKeyConstraint("id", name=conv(f"pk_{DEAD_LETTERS}")),
    ]


# (index name, table, columns)
_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (f"ix_{OUTBOX}_due", OUTBOX, ("published_at", "next_attempt_at")),
    (f"ix_{DEAD_LETTERS}_consumer", DEAD_LETTERS, ("consumer", "created_at")),
)

_TABLES: tuple[tuple[str, Callable[[], list[SchemaItem]]], ...] = (
    (OUTBOX, _outbox_items),
    (INBOX, _inbox_items),
    (DEAD_LETTERS, _dead_letter_items),
)


def event_tables(metadata: MetaData) -> EventTables:
    """Add the event tables to a service's metadata (idempotent) and return them."""
    for name, items in _TABLES:
        if name not in metadata.tables:
            Table(name, metadata, *items())
    for index_name, table_name, columns in _INDEXES:
        table = metadata.tables[table_name]
        if not any(index.name == index_name for index in table.indexes):
            Index(conv(index_name), *(table.c[column] for column in columns))
    return EventTables(
        outbox=metadata.tables[OUTBOX],
        inbox=metadata.tables[INBOX],
        dead_letters=metadata.tables[DEAD_LETTERS],
    )


def create_event_tables_op(op: Operations | ModuleType) -> None:
    """For a service's initial Alembic migration: `create_event_tables_op(op)` in `upgrade()`."""
    for name, items in _TABLES:
        op.create_table(name, *items())
    for index_name, table_name, columns in _INDEXES:
        op.create_index(index_name, table_name, list(columns))


def drop_event_tables_op(op: Operations | ModuleType) -> None:
    """The matching `downgrade()` step."""
    for index_name, table_name, _columns in reversed(_INDEXES):
        op.drop_index(index_name, table_name=table_name)
    for name, _items in reversed(_TABLES):
        op.drop_table(name)
