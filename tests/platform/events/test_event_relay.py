"""The relay: delivers committed outbox rows, retries with growing backoff, gives up at a limit,
never holds rows it did not get to, and several relays never publish one row twice at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import utcnow
from lugx.platform.events import (
    Consumer,
    Event,
    EventBus,
    InProcessTransport,
    OutboxRelay,
    publish,
    start_buses,
    stop_buses,
)
from lugx.platform.events.admin import format_undelivered, list_undelivered, requeue_undelivered
from lugx.platform.events.outbox import deliver_after_commit
from lugx.platform.events.transport import EventHandler
from lugx.platform.settings import Settings
from tests.conftest import units_of_work

if TYPE_CHECKING:
    from tests.platform.events.conftest import Condition, EventsEnv, Eventually


class FlakyTransport:
    """A transport whose broker is down for the first `failures` publishes (all, if None)."""

    def __init__(self, failures: int | None = None) -> None:
        self.failures = failures
        self.calls = 0
        self.published: list[Event] = []

    def subscribe(self, consumer: str, types: Sequence[str], handler: EventHandler) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, event: Event) -> None:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise ConnectionError(f"broker down (call {self.calls})")
        await asyncio.sleep(0)
        self.published.append(event)

    async def ping(self) -> None:
        pass


async def add_events(env: EventsEnv, count: int, type: str = "OrderPaid") -> list[Event]:
    events = []
    async with env.db.session(write=True) as session:
        for n in range(count):
            events.append(
                await publish(
                    session,
                    env.tables,
                    producer="shop",
                    type=type,
                    key=f"k{n}",
                    payload={"note": f"n{n}"},
                )
            )
    return events


async def make_due(env: EventsEnv) -> None:
    async with env.db.session(write=True) as session:
        await session.execute(update(env.tables.outbox).values(next_attempt_at=utcnow()))


async def test_relay_delivers_in_order_to_an_in_process_handler(env: EventsEnv) -> None:
    transport = InProcessTransport()
    seen: list[Event] = []

    async def handler(event: Event) -> None:
        seen.append(event)

    transport.subscribe("catalog", ["OrderPaid"], handler)
    await transport.start()
    events = await add_events(env, 3)
    relay = OutboxRelay(env.db, env.tables, transport)

    assert await relay.deliver_pending() == 3
    assert [e.id for e in seen] == [e.id for e in events]
    assert seen == events  # the envelope survives the outbox unchanged
    rows = await env.rows(env.tables.outbox)
    assert all(r.published_at is not None and r.attempts == 1 for r in rows)
    assert await relay.deliver_pending() == 0
    assert len(seen) == 3


async def test_redelivered_event_changes_nothing_thanks_to_the_inbox(env: EventsEnv) -> None:
    transport = InProcessTransport()
    consumer = Consumer(
        "catalog", env.db, env.tables, {"OrderPaid": env.effect_handler()}, max_attempts=3
    )
    transport.subscribe(consumer.name, consumer.types, consumer.handle)
    await transport.start()
    (event,) = await add_events(env, 1)
    relay = OutboxRelay(env.db, env.tables, transport)
    assert await relay.deliver_pending() == 1

    # The relay crashed before recording the publish: the row is published again...
    async with env.db.session(write=True) as session:
        await session.execute(
            update(env.tables.outbox).values(published_at=None, next_attempt_at=utcnow())
        )
    assert await relay.deliver_pending() == 1
    # ...and a broker redelivers it too.
    await transport.publish(event)
    await consumer.handle(event)

    assert await env.count(env.effects) == 1
    (inbox,) = await env.rows(env.tables.inbox)
    assert (inbox.consumer, inbox.event_id, inbox.status, inbox.attempts) == (
        "catalog",
        event.id,
        "done",
        1,
    )


async def test_failed_publish_backs_off_longer_each_time_then_gives_up(env: EventsEnv) -> None:
    transport = FlakyTransport()
    relay = OutboxRelay(
        env.db, env.tables, transport, max_attempts=3, backoff_base=10.0, backoff_max=1000.0
    )
    (event,) = await add_events(env, 1)

    delays = []
    for attempt in (1, 2, 3):
        assert await relay.deliver_pending() == 1
        (row,) = await env.rows(env.tables.outbox)
        assert row.attempts == attempt
        assert row.published_at is None
        assert row.last_error == f"ConnectionError: broker down (call {attempt})"
        delays.append((row.next_attempt_at - utcnow()).total_seconds())
        assert await relay.deliver_pending() == 0  # not due yet
        await make_due(env)

    # base * 2^(n-1), plus up to 25% jitter: 10-12.5 s, 20-25 s, 40-50 s.
    for delay, low in zip(delays, (10, 20, 40), strict=True):
        assert low - 1 < delay <= low * 1.25
    assert delays[0] < delays[1] < delays[2]

    # At max_attempts the relay leaves the row for an operator, even when due.
    assert await relay.deliver_pending() == 0
    (row,) = await env.rows(env.tables.outbox)
    assert (row.attempts, row.published_at) == (3, None)
    stuck = await list_undelivered(env.db, env.tables)
    assert [s.id for s in stuck] == [event.id]
    assert "broker down" in format_undelivered(stuck)

    # The operator requeues it once the broker is back.
    transport.failures = 0
    assert await requeue_undelivered(env.db, env.tables, str(event.id)) == 1
    assert await relay.deliver_pending() == 1
    assert [e.id for e in transport.published] == [event.id]
    assert await list_undelivered(env.db, env.tables) == []


def test_backoff_is_capped(env: EventsEnv) -> None:
    relay = OutboxRelay(env.db, env.tables, FlakyTransport(), backoff_base=1.0, backoff_max=30.0)
    assert relay.backoff(1) <= timedelta(seconds=1.25)
    assert relay.backoff(50) == timedelta(seconds=30)


async def test_a_transient_failure_is_retried_and_delivered(env: EventsEnv) -> None:
    transport = FlakyTransport(failures=2)
    relay = OutboxRelay(env.db, env.tables, transport, backoff_base=0.001, backoff_max=0.001)
    (event,) = await add_events(env, 1)
    for _ in range(3):
        await relay.deliver_pending()
        await asyncio.sleep(0.01)
    assert [e.id for e in transport.published] == [event.id]
    (row,) = await env.rows(env.tables.outbox)
    assert row.published_at is not None
    assert row.last_error is None


async def test_cancelled_pass_hands_back_the_rows_it_did_not_try(env: EventsEnv) -> None:
    started = asyncio.Event()

    class HangingTransport(FlakyTransport):
        async def publish(self, event: Event) -> None:
            started.set()
            await asyncio.Event().wait()  # a broker that never answers

    await add_events(env, 3)
    relay = OutboxRelay(env.db, env.tables, HangingTransport(), lease_seconds=3600)
    task = asyncio.create_task(relay.deliver_pending())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    rows = await env.rows(env.tables.outbox)
    # Nothing was settled: every row is due again at once (the one in flight may have reached
    # the broker; publishing it again is the at-least-once duplicate the inbox absorbs).
    assert [r.attempts for r in rows] == [0, 0, 0]
    assert all(r.published_at is None for r in rows)
    working = FlakyTransport(failures=0)
    assert await OutboxRelay(env.db, env.tables, working).deliver_pending() == 3


async def test_concurrent_relays_never_publish_a_row_twice(env: EventsEnv) -> None:
    events = await add_events(env, 40)
    transport = FlakyTransport(failures=0)
    relays = [OutboxRelay(env.db, env.tables, transport) for _ in range(4)]
    counts = await asyncio.gather(*(r.deliver_pending(limit=15) for r in relays))
    while sum(counts) < 40:
        counts += await asyncio.gather(*(r.deliver_pending(limit=15) for r in relays))
    assert sum(counts) == 40
    assert sorted(str(e.id) for e in transport.published) == sorted(str(e.id) for e in events)


async def test_run_delivers_at_once_when_notified_and_stops(env: EventsEnv) -> None:
    transport = FlakyTransport(failures=0)
    relay = OutboxRelay(env.db, env.tables, transport, poll_seconds=30)  # polling would be too late
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.05)
        await add_events(env, 1)
        relay.notify()
        for _ in range(100):
            if transport.published:
                break
            await asyncio.sleep(0.01)
        assert len(transport.published) == 1
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=5)


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    """`relay.run()` in a task, up to the point where it takes fresh events; stopped after."""
    task = asyncio.create_task(relay.run())
    try:
        while not relay.takes_fresh:
            await asyncio.sleep(0.005)
        yield
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=5)


async def add_fresh(env: EventsEnv, relay: OutboxRelay, count: int) -> list[Event]:
    """What EventBus.publish does while its relay runs: rows held back for the grace, the
    events handed to the relay after the commit."""
    events = []
    async with env.db.session(write=True) as session:
        for n in range(count):
            event = await publish(
                session,
                env.tables,
                producer="shop",
                type="OrderPaid",
                key=f"k{n}",
                payload={"note": f"n{n}"},
                due_in=relay.fresh_grace,
            )
            deliver_after_commit(session, relay, event)
            events.append(event)
    return events


async def test_fresh_events_are_published_from_memory_without_a_claim(
    env: EventsEnv, eventually: Eventually
) -> None:
    transport = FlakyTransport(failures=0)
    relay = OutboxRelay(env.db, env.tables, transport, poll_seconds=30)
    async with running(relay):
        events = await add_fresh(env, relay, 3)

        async def published() -> bool:
            return (
                await env.count(env.tables.outbox, env.tables.outbox.c.published_at.is_not(None))
                == 3
            )

        await eventually(published, 5.0)
    assert [e.id for e in transport.published] == [e.id for e in events]  # in commit order
    rows = await env.rows(env.tables.outbox)
    assert [r.attempts for r in rows] == [0, 0, 0]  # never claimed
    assert all(r.last_error is None for r in rows)


async def test_a_fresh_row_waits_out_its_grace_before_a_poll_takes_it(env: EventsEnv) -> None:
    """The process died between the commit and the hand-over: no poll (of another relay, or
    of this one restarted) publishes the row during the grace; after it, one does."""
    relay = OutboxRelay(env.db, env.tables, FlakyTransport(failures=0), fresh_grace_seconds=30)
    async with env.db.session(write=True) as session:
        (event,) = [
            await publish(
                session,
                env.tables,
                producer="shop",
                type="OrderPaid",
                key="k",
                payload={},
                due_in=relay.fresh_grace,
            )
        ]
    (row,) = await env.rows(env.tables.outbox)
    assert 29 < (row.next_attempt_at - row.occurred_at).total_seconds() <= 30
    other = FlakyTransport(failures=0)
    assert await OutboxRelay(env.db, env.tables, other).deliver_pending() == 0
    await make_due(env)
    assert await OutboxRelay(env.db, env.tables, other).deliver_pending() == 1
    assert [e.id for e in other.published] == [event.id]


async def test_a_failed_fresh_publish_backs_off_and_is_retried_by_a_poll(
    env: EventsEnv, eventually: Eventually
) -> None:
    transport = FlakyTransport(failures=1)
    relay = OutboxRelay(env.db, env.tables, transport, poll_seconds=30, backoff_base=10.0)
    async with running(relay):
        (event,) = await add_fresh(env, relay, 1)

        async def failed() -> bool:
            rows = await env.rows(env.tables.outbox)
            return rows[0].last_error is not None

        await eventually(failed, 5.0)
    (row,) = await env.rows(env.tables.outbox)
    assert row.attempts == 1
    assert row.published_at is None
    assert row.last_error == "ConnectionError: broker down (call 1)"
    assert 9 < (row.next_attempt_at - utcnow()).total_seconds() <= 12.5
    assert await relay.deliver_pending() == 0  # backing off
    await make_due(env)
    assert await relay.deliver_pending() == 1
    assert [e.id for e in transport.published] == [event.id]
    (row,) = await env.rows(env.tables.outbox)
    assert (row.attempts, row.last_error) == (2, None)
    assert row.published_at is not None


def delaying(
    env: EventsEnv, transport: FlakyTransport, delay: float, *, batch_size: int = 100
) -> OutboxRelay:
    """A relay whose fresh events wait `delay` (under a long grace), and which polls seldom."""
    return OutboxRelay(
        env.db,
        env.tables,
        transport,
        poll_seconds=30,
        batch_size=batch_size,
        fresh_grace_seconds=120,
        fresh_delay_seconds=delay,
    )


def published(transport: FlakyTransport, count: int) -> Condition:
    async def enough() -> bool:
        return len(transport.published) >= count

    return enough


async def test_fresh_events_wait_out_their_delay_then_go_out_together(
    env: EventsEnv, eventually: Eventually
) -> None:
    """The delay runs from the first event held: later ones go out with it, in one pass that
    marks them all published at once."""
    transport = FlakyTransport(failures=0)
    relay = delaying(env, transport, 2.0)
    async with running(relay):
        events = await add_fresh(env, relay, 2)
        await asyncio.sleep(0.2)
        events += await add_fresh(env, relay, 1)
        await asyncio.sleep(0.2)
        assert transport.published == []  # well before the first is due
        await eventually(published(transport, 3), 5.0)
    assert [e.id for e in transport.published] == [e.id for e in events]
    rows = await env.rows(env.tables.outbox)
    assert len({row.published_at for row in rows}) == 1
    assert rows[0].published_at is not None


async def test_a_full_batch_of_fresh_events_does_not_wait(
    env: EventsEnv, eventually: Eventually
) -> None:
    transport = FlakyTransport(failures=0)
    relay = delaying(env, transport, 60, batch_size=2)
    async with running(relay):
        events = await add_fresh(env, relay, 2)
        await eventually(published(transport, 2), 5.0)
    assert [e.id for e in transport.published] == [e.id for e in events]


async def test_fresh_events_published_are_stamped_in_one_statement(
    env: EventsEnv, eventually: Eventually, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to hand back or retry: the stamp is the pass's one write, its own transaction."""
    transport = FlakyTransport(failures=0)
    relay = delaying(env, transport, 0.0)
    async with running(relay):
        opened = units_of_work(monkeypatch, env.db)
        await add_fresh(env, relay, 2)
        await eventually(published(transport, 2), 5.0)
        await eventually(stamped(env, 2), 5.0)
    stamps = [unit for unit in opened if unit["write"] and unit["single"]]
    assert stamps, opened


def stamped(env: EventsEnv, count: int) -> Condition:
    async def enough() -> bool:
        rows = await env.rows(env.tables.outbox)
        return sum(row.published_at is not None for row in rows) >= count

    return enough


def test_the_fresh_delay_stays_below_the_grace(env: EventsEnv) -> None:
    transport = FlakyTransport(failures=0)
    with pytest.raises(ValueError, match="below the grace"):
        OutboxRelay(env.db, env.tables, transport, fresh_grace_seconds=1, fresh_delay_seconds=1)


@pytest.mark.parametrize("delay", [0.0, 60.0])
async def test_stop_publishes_the_fresh_events_already_committed(
    env: EventsEnv, delay: float
) -> None:
    transport = FlakyTransport(failures=0)
    relay = delaying(env, transport, delay, batch_size=2)
    task = asyncio.create_task(relay.run())
    while not relay.takes_fresh:
        await asyncio.sleep(0.005)
    events = await add_fresh(env, relay, 5)  # three batches
    relay.stop()  # before the loop has woken for them
    assert not relay.takes_fresh
    await asyncio.wait_for(task, timeout=5)
    assert [e.id for e in transport.published] == [e.id for e in events]
    assert await env.count(env.tables.outbox, env.tables.outbox.c.published_at.is_(None)) == 0


async def test_purge_published_keeps_recent_and_unpublished_rows(env: EventsEnv) -> None:
    events = await add_events(env, 3)
    relay = OutboxRelay(env.db, env.tables, FlakyTransport(failures=0))
    await relay.deliver_pending()
    async with env.db.session(write=True) as session:
        await session.execute(
            update(env.tables.outbox)
            .where(env.tables.outbox.c.id == events[0].id)
            .values(published_at=utcnow() - timedelta(days=30))
        )
        await session.execute(
            update(env.tables.outbox)
            .where(env.tables.outbox.c.id == events[1].id)
            .values(published_at=None)
        )
    assert await relay.purge_published(timedelta(days=7)) == 1
    remaining = {r.id for r in await env.rows(env.tables.outbox)}
    assert remaining == {events[1].id, events[2].id}


async def test_requeue_of_an_unknown_id_changes_nothing(env: EventsEnv) -> None:
    await add_events(env, 1)
    assert await requeue_undelivered(env.db, env.tables, uuid.uuid4()) == 0


async def test_fresh_events_go_out_a_batch_at_a_time(env: EventsEnv) -> None:
    """What piles up while a broker is slow is published `batch_size` events a pass, each
    pass settled on its own."""
    transport = FlakyTransport(failures=0)
    relay = OutboxRelay(env.db, env.tables, transport, poll_seconds=30, batch_size=2)
    relay._running = True  # as while run() goes: fresh events are taken
    events = await add_fresh(env, relay, 5)
    assert [await relay.deliver_fresh() for _ in range(4)] == [2, 2, 1, 0]
    assert [e.id for e in transport.published] == [e.id for e in events]
    assert await env.count(env.tables.outbox, env.tables.outbox.c.published_at.is_(None)) == 0


async def test_an_event_rolled_back_with_its_savepoint_is_never_published(
    env: EventsEnv, settings: Settings, eventually: Eventually
) -> None:
    """The unit of work commits, but the savepoint that wrote the event rolled back: nothing
    may be published from memory; the event written after it is."""
    transport = InProcessTransport()
    bus = EventBus("shop", env.db, env.tables, transport, settings)
    seen: list[Event] = []
    other = EventBus("catalog", env.db, env.tables, transport, settings)

    @other.on("OrderPaid")
    async def on_paid(session: AsyncSession, event: Event) -> None:
        seen.append(event)

    await start_buses(transport, [bus, other])
    try:
        while not bus.relay.takes_fresh:
            await asyncio.sleep(0.005)
        async with env.db.session() as session:
            savepoint = await session.begin_nested()
            await bus.publish(session, "OrderPaid", "dropped", {"n": 1})
            await savepoint.rollback()
            kept = await bus.publish(session, "OrderPaid", "kept", {"n": 2})

        async def delivered() -> bool:
            return len(seen) >= 1

        await eventually(delivered, 5.0)
        await asyncio.sleep(0.2)
        assert [e.id for e in seen] == [kept.id]
        assert await env.count(env.tables.outbox) == 1
    finally:
        await stop_buses(transport, [bus, other])
