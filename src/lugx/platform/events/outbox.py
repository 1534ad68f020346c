"""Writing an event: one row in the producer's outbox, inside the caller's transaction.

The event exists exactly when the change it describes is committed: both are in one transaction,
which the request scope commits (services never commit). If the transaction rolls back, the
event vanishes with the change; if the process dies after the commit, the relay finds the row.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from lugx.platform.db.sql import insert_of
from lugx.platform.events.envelope import Event, plain_object
from lugx.platform.events.tables import EventTables
from lugx.platform.events.transport import Notify

_AFTER_COMMIT_KEY = "lugx.events.after_commit"


async def publish(
    session: AsyncSession,
    tables: EventTables,
    *,
    producer: str,
    type: str,
    key: str,
    payload: dict[str, Any],
    version: int = 1,
) -> Event:
    """Add an event to the outbox in `session`'s transaction and return it.

    The returned event is what consumers will receive: its payload has been through JSON.
    """
    as_json = orjson.dumps(payload, option=orjson.OPT_UTC_Z)
    event = Event(
        type=type, version=version, producer=producer, key=key, payload=plain_object(as_json)
    )
    await session.execute(insert_of(tables.outbox), outbox_row(event, as_json))
    return event


def outbox_row(event: Event, payload_json: bytes | None = None) -> dict[str, Any]:
    """The outbox row of `event` (`payload_json`: its payload already as JSON)."""
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
    """Call `notify()` once the session's current transaction commits (not on rollback), so a
    relay delivers at once instead of at its next poll."""
    sync_session = session.sync_session
    callbacks: list[Notify] | None = sync_session.info.get(_AFTER_COMMIT_KEY)
    if callbacks is None:
        callbacks = sync_session.info[_AFTER_COMMIT_KEY] = []
        # Listeners stay for the session's (short, per-request) life; they act on outer
        # transactions only, never on a savepoint's commit or rollback.
        sa_event.listen(sync_session, "after_commit", _run_after_commit)
        sa_event.listen(sync_session, "after_rollback", _forget_after_commit)
    if notify not in callbacks:
        callbacks.append(notify)


def _run_after_commit(sync_session: Session) -> None:
    if sync_session.in_nested_transaction():
        return
    callbacks: list[Notify] = sync_session.info.get(_AFTER_COMMIT_KEY, [])
    pending, callbacks[:] = list(callbacks), []
    for notify in pending:
        notify()


def _forget_after_commit(sync_session: Session) -> None:
    if not sync_session.in_nested_transaction():
        sync_session.info.get(_AFTER_COMMIT_KEY, []).clear()
