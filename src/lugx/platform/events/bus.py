"""One service's view of events: publish to its outbox, handle what it consumes.

Ownership: the wiring creates ONE transport per process (shared by every service in the
embedded wiring) and owns its start and stop; each service owns an `EventBus`, which owns that
service's relay and consumer but never starts or stops the transport. The order is:

    for bus in buses: bus.subscribe()      # register consumers before the transport starts
    await transport.start()
    for bus in buses: await bus.start()    # relays begin delivering
    ...
    for bus in buses: await bus.stop()
    await transport.stop()

`start_buses` / `stop_buses` do exactly that.

A service registers its handlers at build time, with `@bus.on("OrderPaid")` or
`bus.register("OrderPaid", handler)`. A handler gets the consumer's write session (its changes
commit together with the inbox row: never commit in it) and the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database
from lugx.platform.db.database import in_savepoint
from lugx.platform.events import outbox
from lugx.platform.events.consumer import Consumer, Handler
from lugx.platform.events.dead_letters import DeadLetter
from lugx.platform.events.envelope import EVENT_TYPE_PATTERN, Event
from lugx.platform.events.relay import OutboxRelay
from lugx.platform.events.tables import EventTables
from lugx.platform.events.transport import Transport
from lugx.platform.settings import Settings

log = structlog.get_logger(__name__)

H = TypeVar("H", bound=Handler)

STOP_TIMEOUT_SECONDS = 10.0
_TYPE_NAME = re.compile(EVENT_TYPE_PATTERN)


class EventBus:
    def __init__(
        self,
        service: str,
        db: Database,
        tables: EventTables,
        transport: Transport,
        settings: Settings,
    ) -> None:
        self.service = service
        self.db = db
        self.tables = tables
        self.transport = transport
        self.handlers: dict[str, Handler] = {}
        self.consumer = Consumer(
            service, db, tables, self.handlers, max_attempts=settings.event_max_attempts
        )
        self.relay = OutboxRelay(
            db,
            tables,
            transport,
            poll_seconds=settings.outbox_poll_seconds,
            max_attempts=settings.event_relay_max_attempts,
            backoff_base=settings.event_backoff_base_seconds,
            backoff_max=settings.event_backoff_max_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
            fresh_grace_seconds=settings.outbox_fresh_grace_seconds,
            fresh_delay_seconds=settings.outbox_fresh_delay_seconds,
        )
        self._subscribed = False
        self._relay_task: asyncio.Task[None] | None = None

    # -- producing -------------------------------------------------------------------------

    async def publish(
        self,
        session: AsyncSession,
        type: str,
        key: str,
        payload: dict[str, Any],
        version: int = 1,
    ) -> Event:
        """Write an event to this service's outbox in `session`'s transaction. Once that
        transaction commits, the relay gets the event itself (or, if the relay is not running,
        a poll finds the row); nothing is sent if it rolls back."""
        # In a savepoint the row may yet be rolled back while the unit of work commits: then
        # only a poll, which finds what really committed, may publish it.
        fresh = self.relay.takes_fresh and not in_savepoint(session)
        event = await outbox.publish(
            session,
            self.tables,
            producer=self.service,
            type=type,
            key=key,
            payload=payload,
            version=version,
            due_in=self.relay.fresh_grace if fresh else None,
        )
        if fresh:
            outbox.deliver_after_commit(session, self.relay, event)
        else:
            outbox.notify_after_commit(session, self.notify)
        return event

    def notify(self) -> None:
        """Wake the relay now (publish already does this after commit)."""
        self.relay.notify()

    # -- consuming -------------------------------------------------------------------------

    def register(self, type: str, handler: Handler) -> None:
        if self._subscribed:
            raise RuntimeError(f"{self.service}: register handlers before the bus subscribes")
        if not _TYPE_NAME.match(type):
            raise ValueError(f"{type!r} is not an event type name (PascalCase, past tense)")
        if type in self.handlers:
            raise ValueError(f"{self.service} already handles {type}")
        self.handlers[type] = handler

    def on(self, type: str) -> Callable[[H], H]:
        """Decorator form of `register`: `@bus.on("OrderPaid")`."""

        def decorator(handler: H) -> H:
            self.register(type, handler)
            return handler

        return decorator

    def subscribe(self) -> None:
        """Register this service's consumer on the transport (once; before transport start)."""
        if self._subscribed:
            return
        self._subscribed = True
        if self.handlers:
            self.transport.subscribe(self.service, sorted(self.handlers), self.consumer.handle)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe (if not yet done) and start the relay. Does not start the transport."""
        self.subscribe()
        if self._relay_task is None:
            self._relay_task = asyncio.create_task(
                self.relay.run(), name=f"lugx-outbox-relay-{self.service}"
            )
            self.relay.notify()  # deliver what an earlier run left behind

    @property
    def running(self) -> bool:
        return self._relay_task is not None

    async def stop(self) -> None:
        """Stop the relay after its current pass (cancel it if that takes too long)."""
        task, self._relay_task = self._relay_task, None
        if task is None:
            return
        self.relay.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def ready(self) -> None:
        """Raise if events cannot flow (for `/readyz`)."""
        await self.transport.ping()

    # -- operators -------------------------------------------------------------------------

    async def list_dead_letters(
        self, *, include_replayed: bool = False, limit: int = 100
    ) -> list[DeadLetter]:
        return await self.consumer.list_dead_letters(include_replayed=include_replayed, limit=limit)

    async def replay(self, dead_letter_id: uuid.UUID) -> DeadLetter:
        return await self.consumer.replay(dead_letter_id)


async def start_buses(transport: Transport, buses: Iterable[EventBus]) -> None:
    """Subscribe every bus, start the shared transport once, then start every relay."""
    buses = list(buses)
    for bus in buses:
        bus.subscribe()
    await transport.start()
    for bus in buses:
        await bus.start()


async def stop_buses(transport: Transport, buses: Iterable[EventBus]) -> None:
    """Stop every relay, then the transport."""
    await asyncio.gather(*(bus.stop() for bus in buses))
    await transport.stop()
