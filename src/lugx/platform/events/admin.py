"""Operator tools, shaped for the CLI (`lugx events dead-letters SERVICE`,
`lugx events replay SERVICE ID`, `lugx events undelivered SERVICE`, `lugx events requeue SERVICE`).

Listing needs only a service's database and tables; replaying runs the service's handler, so it
needs that service's `Consumer` (`bus.consumer`) with its handlers registered. Every function
returns data; the `format_*` helpers turn it into a plain-text table for a terminal.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from lugx.platform.db import Database, utcnow
from lugx.platform.db.sql import plain_uuid, rowcount
from lugx.platform.events.consumer import Consumer
from lugx.platform.events.dead_letters import DeadLetter, DeadLetterNotFound, list_dead_letters
from lugx.platform.events.tables import EventTables

__all__ = [
    "UndeliveredEvent",
    "format_dead_letters",
    "format_undelivered",
    "list_dead_letters",
    "list_undelivered",
    "parse_id",
    "replay_dead_letter",
    "requeue_undelivered",
]


@dataclass(frozen=True, slots=True)
class UndeliveredEvent:
    id: uuid.UUID
    type: str
    key: str
    occurred_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


def parse_id(value: str | uuid.UUID) -> uuid.UUID:
    """An id typed by an operator; a malformed one reads as 'not found', not as a crash."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise DeadLetterNotFound(f"{value!r} is not a dead letter id (a UUID)") from None


async def replay_dead_letter(consumer: Consumer, dead_letter_id: str | uuid.UUID) -> DeadLetter:
    """Run the handler again on one dead letter; raises `DeadLetterNotFound`,
    `DeadLetterAlreadyReplayed` or `ReplayFailed` (with the handler's error)."""
    return await consumer.replay(parse_id(dead_letter_id))


async def list_undelivered(
    db: Database, tables: EventTables, *, limit: int = 100
) -> list[UndeliveredEvent]:
    """Unpublished outbox rows that have failed at least once, oldest first (rows at the
    relay's attempt limit wait here for `requeue_undelivered`)."""
    outbox = tables.outbox
    query = (
        select(outbox)
        .where(outbox.c.published_at.is_(None), outbox.c.last_error.is_not(None))
        .order_by(outbox.c.occurred_at, outbox.c.id)
        .limit(limit)
    )
    async with db.session(write=False) as session:
        rows = (await session.execute(query)).all()
    return [
        UndeliveredEvent(
            id=plain_uuid(row.id),
            type=row.type,
            key=row.key,
            occurred_at=row.occurred_at,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
        )
        for row in rows
    ]


async def requeue_undelivered(
    db: Database, tables: EventTables, event_id: str | uuid.UUID | None = None
) -> int:
    """Give undelivered events a fresh set of attempts, due now: one event, or every event whose
    last attempt failed. Returns how many were requeued."""
    outbox = tables.outbox
    query = update(outbox).where(outbox.c.published_at.is_(None), outbox.c.last_error.is_not(None))
    if event_id is not None:
        query = query.where(outbox.c.id == parse_id(event_id))
    async with db.session(write=True) as session:
        result = await session.execute(query.values(attempts=0, next_attempt_at=utcnow()))
    return rowcount(result)


def format_dead_letters(letters: Sequence[DeadLetter]) -> str:
    if not letters:
        return "no dead letters"
    return _table(
        ("id", "consumer", "type", "event id", "attempts", "created", "replayed", "error"),
        [
            (
                str(d.id),
                d.consumer,
                d.type,
                str(d.event_id),
                str(d.attempts),
                _time(d.created_at),
                _time(d.replayed_at) if d.replayed_at else "-",
                _one_line(d.error),
            )
            for d in letters
        ],
    )


def format_undelivered(events: Sequence[UndeliveredEvent]) -> str:
    if not events:
        return "no undelivered events"
    return _table(
        ("id", "type", "key", "occurred", "attempts", "next attempt", "error"),
        [
            (
                str(e.id),
                e.type,
                e.key,
                _time(e.occurred_at),
                str(e.attempts),
                _time(e.next_attempt_at),
                _one_line(e.last_error or ""),
            )
            for e in events
        ],
    )


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)
