"""Dead letters: events a consumer gave up on, kept whole so an operator can look and replay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lugx.platform.db import Database
from lugx.platform.db.sql import plain_uuid
from lugx.platform.errors import Conflict, NotFound
from lugx.platform.events.envelope import Event
from lugx.platform.events.tables import EventTables

MAX_ERROR_CHARS = 4000


class DeadLetterNotFound(NotFound):
    title = "Dead letter not found"


class DeadLetterAlreadyReplayed(Conflict):
    title = "Dead letter already replayed"


class ReplayFailed(Conflict):
    """The handler failed again; the dead letter stays, with the new error."""

    title = "Replay failed"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: uuid.UUID
    consumer: str
    event_id: uuid.UUID
    type: str
    envelope: str
    error: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None

    @property
    def event(self) -> Event:
        return Event.from_json(self.envelope)

    @classmethod
    def from_row(cls, row: Any) -> DeadLetter:
        return cls(
            id=plain_uuid(row.id),
            consumer=row.consumer,
            event_id=plain_uuid(row.event_id),
            type=row.type,
            envelope=row.envelope,
            error=row.error,
            attempts=row.attempts,
            created_at=row.created_at,
            replayed_at=row.replayed_at,
        )


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


async def list_dead_letters(
    db: Database,
    tables: EventTables,
    *,
    consumer: str | None = None,
    include_replayed: bool = False,
    limit: int = 100,
) -> list[DeadLetter]:
    """Newest first."""
    dl = tables.dead_letters
    query = select(dl).order_by(dl.c.created_at.desc(), dl.c.id).limit(limit)
    if consumer is not None:
        query = query.where(dl.c.consumer == consumer)
    if not include_replayed:
        query = query.where(dl.c.replayed_at.is_(None))
    async with db.session(write=False) as session:
        rows = (await session.execute(query)).all()
    return [DeadLetter.from_row(row) for row in rows]


async def get_dead_letter(
    db: Database, tables: EventTables, dead_letter_id: uuid.UUID
) -> DeadLetter:
    dl = tables.dead_letters
    async with db.session(write=False) as session:
        row = (await session.execute(select(dl).where(dl.c.id == dead_letter_id))).first()
    if row is None:
        raise DeadLetterNotFound(f"no dead letter {dead_letter_id}")
    return DeadLetter.from_row(row)
