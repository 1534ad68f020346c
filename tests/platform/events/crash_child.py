"""A producer process that dies by SIGKILL, for test_event_crash.py.

    python crash_child.py DATABASE_URL MODE

Every mode first commits one transaction holding a domain row (`orders`) and its outbox event,
then prints `COMMITTED <event id>`. After that:

- `after-commit`: kills itself at once, before any delivery;
- `mid-publish`: starts a relay whose broker never answers, prints `PUBLISHING <id>` when the
  relay holds the event, and waits there for the parent's SIGKILL;
- `mid-handler`: delivers in process to a consumer whose handler has written its effect but
  not committed, prints `HANDLING <id>`, and waits there for the parent's SIGKILL;
- `fresh-mid-publish`: as a bus does while its relay runs, the transaction writes the event
  held back for the relay's grace and hands it to the running relay after the commit; that
  relay's broker never answers: `PUBLISHING <id>`, then the parent's SIGKILL.

The tables are created by the parent; this script only declares the ones it writes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from sqlalchemy import Column, Integer, String, Table, Uuid, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database, new_metadata
from lugx.platform.events import (
    Consumer,
    Event,
    InProcessTransport,
    OutboxRelay,
    event_tables,
    publish,
)
from lugx.platform.events.outbox import deliver_after_commit

LEASE_SECONDS = 0.5

metadata = new_metadata()
tables = event_tables(metadata)
orders = Table(
    "orders", metadata, Column("id", Uuid(), primary_key=True), Column("note", String(100))
)
effects = Table(
    "effects",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("consumer", String(100)),
    Column("event_id", Uuid()),
    Column("note", String(100)),
)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def hang() -> None:
    await asyncio.Event().wait()


class HangingTransport(InProcessTransport):
    async def publish(self, event: Event) -> None:
        say(f"PUBLISHING {event.id}")
        await hang()


async def handler(session: AsyncSession, event: Event) -> None:
    await session.execute(
        insert(effects).values(consumer="catalog", event_id=event.id, note="child")
    )
    await session.flush()
    say(f"HANDLING {event.id}")
    await hang()


async def commit_fresh(db: Database) -> None:
    """The `fresh-mid-publish` mode: the event goes to a running relay from memory."""
    transport = HangingTransport()
    await transport.start()
    relay = OutboxRelay(db, tables, transport, fresh_grace_seconds=LEASE_SECONDS)
    running = asyncio.create_task(relay.run())
    while not relay.takes_fresh:
        await asyncio.sleep(0.005)
    order_id = uuid.uuid4()
    async with db.session(write=True) as session:
        await session.execute(insert(orders).values(id=order_id, note="paid"))
        event = await publish(
            session,
            tables,
            producer="purchases",
            type="OrderPaid",
            key=str(order_id),
            payload={},
            due_in=relay.fresh_grace,
        )
        deliver_after_commit(session, relay, event)
    say(f"COMMITTED {event.id}")
    await running


async def main(url: str, mode: str) -> None:
    db = Database(url)
    if mode == "fresh-mid-publish":
        await commit_fresh(db)
    order_id = uuid.uuid4()
    async with db.session(write=True) as session:
        await session.execute(insert(orders).values(id=order_id, note="paid"))
        event = await publish(
            session, tables, producer="purchases", type="OrderPaid", key=str(order_id), payload={}
        )
    say(f"COMMITTED {event.id}")

    if mode == "after-commit":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "mid-publish":
        transport: InProcessTransport = HangingTransport()
        await transport.start()
        await OutboxRelay(db, tables, transport, lease_seconds=LEASE_SECONDS).deliver_pending()
    elif mode == "mid-handler":
        transport = InProcessTransport()
        consumer = Consumer("catalog", db, tables, {"OrderPaid": handler}, max_attempts=3)
        transport.subscribe(consumer.name, consumer.types, consumer.handle)
        await transport.start()
        await OutboxRelay(db, tables, transport, lease_seconds=LEASE_SECONDS).deliver_pending()
    raise SystemExit(f"unexpected: mode {mode!r} returned")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
