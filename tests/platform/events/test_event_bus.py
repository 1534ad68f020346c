"""EventBus and the embedded wiring: services with their own databases sharing one in-process
transport, started and stopped in the documented order."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database
from lugx.platform.events import (
    DeliveryError,
    Event,
    EventBus,
    InProcessTransport,
    TransportError,
    make_transport,
    start_buses,
    stop_buses,
)
from lugx.platform.settings import Settings

if TYPE_CHECKING:
    from tests.platform.events.conftest import EventsEnv, Eventually


async def test_two_services_share_one_in_process_transport(
    env: EventsEnv, second_db: Database, settings: Settings, eventually: Eventually
) -> None:
    transport = InProcessTransport()
    # Polling alone would take 30 s: delivery within the wait proves the after-commit wake-up.
    slow_poll = settings.model_copy(update={"outbox_poll_seconds": 30.0})
    purchases = EventBus("purchases", env.db, env.tables, transport, slow_poll)
    catalog = EventBus("catalog", second_db, env.tables, transport, slow_poll)
    received: list[Event] = []

    @catalog.on("OrderPaid")
    async def on_paid(session: AsyncSession, event: Event) -> None:
        await session.execute(
            insert(env.effects).values(consumer="catalog", event_id=event.id, note="seen")
        )
        received.append(event)

    await start_buses(transport, [purchases, catalog])
    try:
        await purchases.ready()
        async with env.db.session(write=True) as session:
            await session.execute(insert(env.orders).values(id=uuid.uuid4(), note="paid"))
            event = await purchases.publish(session, "OrderPaid", "o-1", {"amount": 5})

        async def delivered() -> bool:
            return len(received) == 1

        await eventually(delivered, 2.0)
        assert received == [event]
        assert event.producer == "purchases"
        async with second_db.session(write=False) as session:
            assert await session.scalar(select(func.count()).select_from(env.effects)) == 1
    finally:
        await stop_buses(transport, [purchases, catalog])
    with pytest.raises(TransportError):
        await purchases.ready()


async def test_a_service_can_consume_its_own_events_on_its_own_database(
    env: EventsEnv, settings: Settings, eventually: Eventually
) -> None:
    """No lock is held while handlers run, so a self-consumer never waits on its own relay."""
    transport = InProcessTransport()
    bus = EventBus("purchases", env.db, env.tables, transport, settings)
    bus.register("OrderPaid", env.effect_handler("purchases"))
    await start_buses(transport, [bus])
    try:
        async with env.db.session(write=True) as session:
            await bus.publish(session, "OrderPaid", "o-1", {"note": "self"})

        async def handled() -> bool:
            return await env.count(env.effects) == 1

        await eventually(handled, 2.0)
    finally:
        await stop_buses(transport, [bus])


async def test_events_published_before_start_are_delivered_after_it(
    env: EventsEnv, settings: Settings, eventually: Eventually
) -> None:
    transport = InProcessTransport()
    bus = EventBus("purchases", env.db, env.tables, transport, settings)
    bus.register("OrderPaid", env.effect_handler("purchases"))
    async with env.db.session(write=True) as session:
        await bus.publish(session, "OrderPaid", "o-1", {})  # e.g. left over from the last run
    await start_buses(transport, [bus])
    try:

        async def handled() -> bool:
            return await env.count(env.effects) == 1

        await eventually(handled, 2.0)
    finally:
        await stop_buses(transport, [bus])


async def test_register_rules(env: EventsEnv, settings: Settings) -> None:
    bus = EventBus("catalog", env.db, env.tables, InProcessTransport(), settings)
    handler = env.effect_handler()
    bus.register("ReviewPosted", handler)
    with pytest.raises(ValueError, match="already handles"):
        bus.register("ReviewPosted", handler)
    with pytest.raises(ValueError, match="not an event type name"):
        bus.register("review.posted", handler)
    bus.subscribe()
    with pytest.raises(RuntimeError, match="before the bus subscribes"):
        bus.register("GameDiscounted", handler)


async def test_stop_without_start_and_double_start_are_harmless(
    env: EventsEnv, settings: Settings
) -> None:
    transport = InProcessTransport()
    bus = EventBus("catalog", env.db, env.tables, transport, settings)
    await bus.stop()
    await transport.start()
    await bus.start()
    await bus.start()
    # A stop right after start must not wait for the relay's first pass to notice it.
    await asyncio.wait_for(bus.stop(), timeout=2)
    await bus.stop()
    await transport.stop()
    relays = [t for t in asyncio.all_tasks() if t.get_name().startswith("lugx-outbox-relay")]
    assert relays == []


async def test_in_process_transport_contract() -> None:
    transport = InProcessTransport()
    calls: list[str] = []

    async def ok(event: Event) -> None:
        calls.append("ok")

    async def broken(event: Event) -> None:
        raise ValueError("nope")

    transport.subscribe("a", ["OrderPaid"], ok)
    transport.subscribe("b", ["OrderPaid"], broken)
    transport.subscribe("c", ["ReviewPosted"], ok)
    with pytest.raises(ValueError, match="already subscribed"):
        transport.subscribe("a", ["X"], ok)

    event = Event(type="OrderPaid", producer="p", key="k")
    with pytest.raises(TransportError):
        await transport.publish(event)  # not started: the relay will retry
    await transport.start()
    with pytest.raises(DeliveryError, match="b: ValueError: nope") as failure:
        await transport.publish(event)
    assert calls == ["ok"]  # the healthy consumer still got it
    assert set(failure.value.failures) == {"b"}
    await transport.publish(Event(type="GameDiscounted", producer="p", key="k"))  # nobody listens
    with pytest.raises(RuntimeError, match="before the transport starts"):
        transport.subscribe("late", ["OrderPaid"], ok)
    await transport.stop()


def test_make_transport_picks_by_url() -> None:
    assert isinstance(make_transport(None), InProcessTransport)
    assert isinstance(make_transport(""), InProcessTransport)
    from lugx.platform.events.broker import BrokerTransport

    for url, kind in [
        ("nats://127.0.0.1:4222", "nats"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp"),
        ("kafka://127.0.0.1:9092", "kafka"),
    ]:
        transport = make_transport(url)
        assert isinstance(transport, BrokerTransport)
        assert transport.kind == kind
    with pytest.raises(ValueError, match="unsupported broker URL scheme"):
        make_transport("mqtt://127.0.0.1")
    with pytest.raises(ValueError, match="namespace"):
        BrokerTransport("nats://127.0.0.1:4222", namespace="a.b")


async def test_bus_stop_leaves_no_task_behind(env: EventsEnv, settings: Settings) -> None:
    transport = InProcessTransport()
    bus = EventBus("catalog", env.db, env.tables, transport, settings)
    await start_buses(transport, [bus])
    await stop_buses(transport, [bus])
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in others if "outbox-relay" in t.get_name()]
