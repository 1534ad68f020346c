"""Writing an event: one row in the producer's outbox, inside the caller's transaction.

The event exists exactly when the change it describes is committed: both are in one transaction,
which the request scope commits (services never commit). If the transaction rolls back, the
event vanishes with the change; if the process dies after the commit, the relay finds the row.
A unit of work's rows are written together just before it commits, in one statement (an event
published inside a savepoint is written at once, so that the savepoint's rollback takes it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import Table
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.database import after_commit, before_commit, in_savepoint
from lugx.platform.db.lazy_orm import LazyOrm
from lugx.platform.db.sql import insert_of
from lugx.platform.events.envelope import Event, plain_object
from lugx.platform.events.tables import EventTables
from lugx.platform.events.transport import Notify

_NOTIFIED_KEY = "lugx.events.notified"
_FRESH_KEY = "lugx.events.fresh"
_ROWS_KEY = "lugx.events.rows"


class FreshEvents(Protocol):
    """What takes events straight after their commit (an `OutboxRelay`)."""

    def committed(self, events: list[Event]) -> None: ...


async def publish(
    session: AsyncSession,
    tables: EventTables,
    *,
    producer: str,
    type: str,
    key: str,
    payload: dict[str, Any],
    version: int = 1,
    due_in: timedelta | None = None,
) -> Event:
    """Add an event to the outbox in `session`'s transaction and return it.

    The returned event is what consumers will receive: its payload has been through JSON.
    `due_in`: how long no relay's poll may take the row, because the caller hands the event to
    its relay in memory once the transaction commits (`deliver_after_commit`).
    """
    if isinstance(session, LazyOrm) and session.single:
        # Its one statement commits as it runs: the event would be a second, after it.
        raise InvalidRequestError("An event cannot be published in a single-statement unit of work")
    as_json = orjson.dumps(payload, option=orjson.OPT_UTC_Z)
    event = Event(
        type=type, version=version, producer=producer, key=key, payload=plain_object(as_json)
    )
    row = outbox_row(event, as_json)
    if due_in is not None:
        row["next_attempt_at"] = event.occurred_at + due_in
    if in_savepoint(session) or not _write_at_commit(session, tables.outbox, row):
        await session.execute(insert_of(tables.outbox), row)  # a savepoint's rollback undoes it
    return event


def _write_at_commit(session: AsyncSession, outbox: Table, row: dict[str, Any]) -> bool:
    """Keep the row for one INSERT of all the unit of work's events just before it commits: a
    paid order's three events are one round trip to PostgreSQL instead of three. False if the
    session is not a unit of work's own (one made outside `Database.session`)."""
    pending: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_ROWS_KEY, {})
    rows = pending.get(outbox)
    if rows is not None:
        rows.append(row)
        return True
    rows = [row]

    async def write() -> None:
        await session.execute(insert_of(outbox), rows if len(rows) > 1 else rows[0])

    if not before_commit(session, write):
        return False
    pending[outbox] = rows
    return True


def outbox_row(event: Event, payload_json: bytes | None = None) -> dict[str, Any]:
    """The outbox row of `event` (`payload_json`: its payload already as JSON), due at once."""
    return {
        "id": event.id,
        "type": event.type,
        "version": event.version,
        "key": event.key,
        "producer": event.producer,
        "payload": (payload_json or orjson.dumps(event.payload)).decode(),
        "occurred_at": event.occurred_at,
        "attempts": 0,
        "next_attempt_at": event.occurred_at,
        "published_at": None,
        "last_error": None,
    }


def event_from_row(row: Any) -> Event:
    """Rebuild the envelope from an outbox row (a SQLAlchemy `Row` with the outbox columns)."""
    return Event(
        id=row.id,
        type=row.type,
        version=row.version,
        occurred_at=row.occurred_at,
        producer=row.producer,
        key=row.key,
        payload=orjson.loads(row.payload),
    )


def notify_after_commit(session: AsyncSession, notify: Notify) -> None:
    """Call `notify()` once the session's unit of work commits (not on rollback), so a relay
    delivers at once instead of at its next poll. Once per unit of work, however many events."""
    notified: set[Notify] = session.info.setdefault(_NOTIFIED_KEY, set())
    if notify in notified:
        return
    notified.add(notify)

    async def _notify() -> None:
        notify()

    after_commit(session, _notify)


def deliver_after_commit(session: AsyncSession, relay: FreshEvents, event: Event) -> None:
    """Hand `event` to `relay` once the session's unit of work commits (not on rollback): the
    relay publishes it from memory, without reading or claiming its row first. The events of
    one unit of work go over together, in the order they were written."""
    pending: dict[FreshEvents, list[Event]] = session.info.setdefault(_FRESH_KEY, {})
    events = pending.get(relay)
    if events is not None:
        events.append(event)
        return
    events = pending[relay] = [event]

    async def _hand_over() -> None:
        relay.committed(events)

    after_commit(session, _hand_over)
