"""The consuming side: run a service's handler at most once per event, with an inbox.

`handle(event)` runs the handler and inserts the inbox row `(consumer, event id, done)` in one
transaction: the handler's effect and the proof it happened commit together or not at all. A
redelivery finds the row and changes nothing. On PostgreSQL the primary key also serialises two
concurrent deliveries of one event: the second waits for the first and then skips.

When the handler raises, a separate transaction counts the attempt. Below `max_attempts` the
error is re-raised so the transport redelivers; at `max_attempts` the event is copied to
`event_dead_letters`, the inbox row is marked dead and `handle` returns normally, so the
transport stops redelivering. An operator can then `replay` it once the fault is fixed.
"""

from __future__ import annotations

import functools
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database, utcnow
from lugx.platform.db.prepared import prepared
from lugx.platform.db.sql import insert_with_conflicts, rowcount
from lugx.platform.events.dead_letters import (
    DeadLetter,
    DeadLetterAlreadyReplayed,
    DeadLetterNotFound,
    ReplayFailed,
    error_text,
    get_dead_letter,
    list_dead_letters,
)
from lugx.platform.events.envelope import Event
from lugx.platform.events.tables import INBOX_DEAD, INBOX_DONE, INBOX_FAILED, EventTables

Handler = Callable[[AsyncSession, Event], Awaitable[None]]
# A few seconds of checkouts at the most: the repeating event comes within milliseconds.
DONE_HERE_REMEMBERED = 4096


@dataclass(frozen=True)
class SkipWhen:
    """A handler, and a test that says, without a query, that an event only repeats what this
    service has already done and committed (say, an order its own request just paid). Such an
    event is acknowledged with no transaction and no inbox row; any other runs the handler as
    usual. `applied` must never say True for an event whose effect is not yet durable, and a
    True must stay true: a redelivery asks it again."""

    handler: Handler
    applied: Callable[[Event], bool]

    async def __call__(self, session: AsyncSession, event: Event) -> None:
        await self.handler(session, event)


log = structlog.get_logger(__name__)


class DoneHere:
    """Ids of what this process has just done and committed (say, the orders its own requests
    paid): the `applied` test of a `SkipWhen` for the events that will repeat them. Bounded,
    the oldest forgotten first; an id not found here (forgotten, or done by another process)
    simply takes the handler's usual path. Add an id only once its transaction has committed."""

    def __init__(self, size: int = DONE_HERE_REMEMBERED) -> None:
        self._size = size
        self._ids: OrderedDict[uuid.UUID, None] = OrderedDict()

    @classmethod
    def of(cls, extras: dict[str, Any], name: str) -> DoneHere:
        """The one named `name` in a service's `ctx.extras` (made on first use)."""
        found = extras.get(name)
        if found is None:
            found = extras[name] = cls()
        assert isinstance(found, cls)
        return found

    def add(self, done: uuid.UUID) -> None:
        self._ids[done] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def __contains__(self, done: object) -> bool:
        return done in self._ids

    def event_about(self, field: str) -> Callable[[Event], bool]:
        """An `applied` test: the event's payload names (in `field`) an id done here."""
        return lambda event: uuid.UUID(str(event.payload[field])) in self


class Consumer:
    def __init__(
        self,
        name: str,
        db: Database,
        tables: EventTables,
        handlers: Mapping[str, Handler],
        *,
        max_attempts: int,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.db = db
        self.tables = tables
        self.handlers = handlers  # read at call time: a bus may still be registering handlers
        self.max_attempts = max_attempts

    @property
    def types(self) -> list[str]:
        return sorted(self.handlers)

    async def handle(self, event: Event) -> None:
        """Handle `event` once. Raises (so the transport redelivers) while attempts remain."""
        handler = self.handlers.get(event.type)
        if handler is None:
            log.warning("event has no handler", consumer=self.name, **_fields(event))
            return
        if isinstance(handler, SkipWhen) and handler.applied(event):
            return
        try:
            async with self.db.session(write=True) as session:
                if not await self._claim(session, event, from_statuses=(INBOX_FAILED,)):
                    return
                await handler(session, event)
        except Exception as exc:
            if not await self._record_failure(event, exc):
                raise

    async def list_dead_letters(
        self, *, include_replayed: bool = False, limit: int = 100
    ) -> list[DeadLetter]:
        return await list_dead_letters(
            self.db, self.tables, consumer=self.name, include_replayed=include_replayed, limit=limit
        )

    async def replay(self, dead_letter_id: uuid.UUID) -> DeadLetter:
        """Run the handler again on a dead letter's event. On success the dead letter is marked
        replayed and the inbox row done, in the handler's transaction. On failure raises
        `ReplayFailed` and the dead letter keeps the new error."""
        letter = await get_dead_letter(self.db, self.tables, dead_letter_id)
        if letter.consumer != self.name:
            raise DeadLetterNotFound(f"no dead letter {dead_letter_id} for {self.name}")
        if letter.replayed_at is not None:
            raise DeadLetterAlreadyReplayed(f"dead letter {dead_letter_id} was already replayed")
        event = letter.event
        handler = self.handlers.get(event.type)
        if handler is None:
            raise ReplayFailed(f"{self.name} has no handler for {event.type}")
        now = utcnow()
        dl = self.tables.dead_letters
        try:
            async with self.db.session(write=True) as session:
                # Taking the dead letter first serialises concurrent replays of it.
                marked = await session.execute(
                    update(dl)
                    .where(dl.c.id == letter.id, dl.c.replayed_at.is_(None))
                    .values(replayed_at=now)
                )
                if rowcount(marked) != 1:
                    raise DeadLetterAlreadyReplayed(f"dead letter {letter.id} was already replayed")
                if await self._claim(session, event, from_statuses=(INBOX_DEAD, INBOX_FAILED)):
                    await handler(session, event)
        except DeadLetterAlreadyReplayed:
            raise
        except Exception as exc:
            await self._record_replay_failure(letter.id, exc)
            log.warning("dead letter replay failed", consumer=self.name, error=error_text(exc))
            raise ReplayFailed(f"replay of {letter.id} failed: {error_text(exc)}") from exc
        log.info("dead letter replayed", consumer=self.name, dead_letter_id=str(letter.id))
        return replace(letter, replayed_at=now)

    # -- inbox -----------------------------------------------------------------------------

    @functools.cached_property
    def _first_delivery(self) -> Any:
        """The inbox row of a first delivery, unless one is there: built once per consumer (it
        runs for every event handled)."""
        inbox = self.tables.inbox
        return prepared(
            insert_with_conflicts(self.db.dialect, inbox).on_conflict_do_nothing(
                index_elements=[inbox.c.consumer, inbox.c.event_id]
            )
        )

    async def _claim(
        self, session: AsyncSession, event: Event, *, from_statuses: tuple[str, ...]
    ) -> bool:
        """Write the inbox row as done, in the handler's transaction. False when another
        delivery already handled the event (or, outside a replay, gave up on it).

        A first delivery, by far the common case, is one INSERT; only a redelivery that finds
        the row tries to move it on from a status it may be retried from."""
        inbox = self.tables.inbox
        now = utcnow()
        row = {
            "consumer": self.name,
            "event_id": event.id,
            "type": event.type,
            "status": INBOX_DONE,
            "attempts": 1,
            "handled_at": now,
        }
        inserted = await session.execute(self._first_delivery, row)
        if rowcount(inserted) == 1:
            return True
        moved = await session.execute(
            update(inbox)
            .where(
                inbox.c.consumer == self.name,
                inbox.c.event_id == event.id,
                inbox.c.status.in_(from_statuses),
            )
            .values(status=INBOX_DONE, attempts=inbox.c.attempts + 1, handled_at=now)
        )
        return rowcount(moved) == 1

    async def _record_failure(self, event: Event, exc: Exception) -> bool:
        """Count a failed attempt. True when the event is settled (dead-lettered now, or handled
        by a concurrent delivery) and should be acknowledged; False to redeliver."""
        inbox = self.tables.inbox
        error = error_text(exc)
        now = utcnow()
        this_event = (inbox.c.consumer == self.name, inbox.c.event_id == event.id)
        async with self.db.session(write=True) as session:
            upsert = insert_with_conflicts(self.db.dialect, inbox).values(
                consumer=self.name,
                event_id=event.id,
                type=event.type,
                status=INBOX_FAILED,
                attempts=1,
                last_error=error,
                handled_at=now,
            )
            await session.execute(
                upsert.on_conflict_do_update(
                    index_elements=[inbox.c.consumer, inbox.c.event_id],
                    set_={"attempts": inbox.c.attempts + 1, "last_error": error, "handled_at": now},
                    where=inbox.c.status == INBOX_FAILED,
                )
            )
            row = (
                await session.execute(select(inbox.c.status, inbox.c.attempts).where(*this_event))
            ).one()
            if row.status != INBOX_FAILED:
                return True
            if row.attempts < self.max_attempts:
                log.warning(
                    "event handler failed, will retry",
                    consumer=self.name,
                    attempts=row.attempts,
                    error=error,
                    **_fields(event),
                )
                return False
            await session.execute(
                insert(self.tables.dead_letters).values(
                    id=uuid.uuid4(),
                    consumer=self.name,
                    event_id=event.id,
                    type=event.type,
                    envelope=event.to_json().decode(),
                    error=error,
                    attempts=row.attempts,
                    created_at=now,
                    replayed_at=None,
                )
            )
            await session.execute(update(inbox).where(*this_event).values(status=INBOX_DEAD))
        log.error(
            "event dead-lettered after repeated failures",
            consumer=self.name,
            attempts=row.attempts,
            error=error,
            **_fields(event),
        )
        return True

    async def _record_replay_failure(self, dead_letter_id: uuid.UUID, exc: Exception) -> None:
        dl = self.tables.dead_letters
        async with self.db.session(write=True) as session:
            await session.execute(
                update(dl)
                .where(dl.c.id == dead_letter_id)
                .values(error=error_text(exc), attempts=dl.c.attempts + 1)
            )


def _fields(event: Event) -> dict[str, str]:
    return {"event_id": str(event.id), "event_type": event.type, "producer": event.producer}
