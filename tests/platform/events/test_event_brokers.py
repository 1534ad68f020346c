"""The same outbox -> relay -> broker -> consumer flow over real brokers.

Kafka runs always, through FastStream's in-memory TestKafkaBroker. NATS JetStream, Redis
Streams and RabbitMQ run against the broker in LUGX_TEST_BROKER_URL (e.g. nats://127.0.0.1:4222,
redis://127.0.0.1:6379/0, amqp://guest:guest@127.0.0.1:5672/) and are skipped without it.
Every run uses its own namespace (streams, subjects, groups, queues) and removes it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from faststream.kafka import TestKafkaBroker
from sqlalchemy import update

from lugx.platform.db import utcnow
from lugx.platform.events import Consumer, Event, OutboxRelay, publish
from lugx.platform.events.broker import BrokerTransport
from tests.brokers import remove_namespace

if TYPE_CHECKING:
    from tests.platform.events.conftest import EventsEnv, Eventually

BROKER_URL = os.environ.get("LUGX_TEST_BROKER_URL")
needs_broker = pytest.mark.skipif(not BROKER_URL, reason="LUGX_TEST_BROKER_URL is not set")
CONSUMER_TYPES = ("OrderPaid", "OrderRefunded", "ReviewPosted", "GameDiscounted")


class FailFirst:
    """Fails the first `times` calls: a transient fault."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    def __call__(self, _event: Event) -> bool:
        self.calls += 1
        return self.calls <= self.times


def make_consumer(env: EventsEnv, name: str) -> Consumer:
    return Consumer(
        name,
        env.db,
        env.tables,
        {
            "OrderPaid": env.effect_handler(name),
            "OrderRefunded": env.effect_handler(name, fail=FailFirst(2)),
            "ReviewPosted": env.effect_handler(name, fail=lambda _e: True),
            "GameDiscounted": env.effect_handler(name),
        },
        max_attempts=3,
    )


async def add(env: EventsEnv, *types_and_notes: tuple[str, str]) -> list[Event]:
    async with env.db.session(write=True) as session:
        return [
            await publish(
                session, env.tables, producer="shop", type=t, key="k", payload={"note": n}
            )
            for t, n in types_and_notes
        ]


async def republish_all(env: EventsEnv, relay: OutboxRelay) -> int:
    async with env.db.session(write=True) as session:
        await session.execute(
            update(env.tables.outbox).values(published_at=None, next_attempt_at=utcnow())
        )
    return await relay.deliver_pending()


@pytest.fixture
def namespace() -> str:
    return f"lugxtest{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def broker_namespace(namespace: str) -> AsyncIterator[tuple[str, list[str]]]:
    assert BROKER_URL is not None
    queues: list[str] = []  # RabbitMQ queues to delete, filled by the test
    yield namespace, queues
    await remove_namespace(BROKER_URL, namespace, queues)


@needs_broker
async def test_end_to_end_over_a_real_broker(
    env: EventsEnv, broker_namespace: tuple[str, list[str]], eventually: Eventually
) -> None:
    assert BROKER_URL is not None
    namespace, queues = broker_namespace
    consumer_name = f"catalog-{uuid.uuid4().hex[:6]}"
    queues.extend(f"{namespace}.{consumer_name}.{t}" for t in CONSUMER_TYPES)
    transport = BrokerTransport(BROKER_URL, namespace=namespace, redeliver_seconds=0.1)
    consumer = make_consumer(env, consumer_name)
    transport.subscribe(consumer.name, consumer.types, consumer.handle)
    await transport.start()
    try:
        await transport.ping()
        relay = OutboxRelay(env.db, env.tables, transport)
        await add(
            env,
            ("OrderPaid", "a"),
            ("OrderPaid", "b"),
            ("OrderPaid", "c"),
            ("OrderRefunded", "flaky"),
            ("ReviewPosted", "poison"),
        )
        assert await relay.deliver_pending() == 5

        # Three deliveries, one retried twice after nacks, one dead-lettered after 3 attempts.
        async def settled() -> bool:
            dead = await consumer.list_dead_letters()
            return await env.count(env.effects) == 4 and len(dead) == 1

        # Generous: redelivery waits on the broker, and a loaded CI machine is slow to it.
        await eventually(settled, 45.0)
        (letter,) = await consumer.list_dead_letters()
        assert (letter.type, letter.attempts) == ("ReviewPosted", 3)
        inbox = {r.type: r for r in await env.rows(env.tables.inbox)}
        assert (inbox["OrderRefunded"].status, inbox["OrderRefunded"].attempts) == ("done", 3)

        # Everything published again (a relay that crashed before recording): no new effect.
        assert await republish_all(env, relay) == 5
        await add(env, ("OrderPaid", "sentinel"))
        assert await relay.deliver_pending() == 1

        async def sentinel_seen() -> bool:
            return await env.count(env.effects) == 5

        await eventually(sentinel_seen, 10.0)
        await asyncio.sleep(0.3)  # give any stray duplicate the time to (wrongly) land
        notes = sorted(r.note for r in await env.rows(env.effects))
        assert notes == ["a", "b", "c", "flaky", "sentinel"]
        assert len(await consumer.list_dead_letters()) == 1
    finally:
        await transport.stop()


@needs_broker
async def test_a_consumer_started_later_receives_earlier_events(
    env: EventsEnv, broker_namespace: tuple[str, list[str]], eventually: Eventually
) -> None:
    assert BROKER_URL is not None
    if BROKER_URL.startswith("amqp"):
        pytest.skip("RabbitMQ keeps no history for a queue that does not exist yet")
    namespace, _queues = broker_namespace
    publisher = BrokerTransport(BROKER_URL, namespace=namespace)
    await publisher.start()  # a producer-only process: no subscriptions at all
    try:
        await add(env, ("GameDiscounted", "early"))
        assert await OutboxRelay(env.db, env.tables, publisher).deliver_pending() == 1
    finally:
        await publisher.stop()

    late = BrokerTransport(BROKER_URL, namespace=namespace)
    consumer = make_consumer(env, "social")
    late.subscribe(consumer.name, ["GameDiscounted"], consumer.handle)
    await late.start()
    try:

        async def received() -> bool:
            return await env.count(env.effects, env.effects.c.consumer == "social") == 1

        await eventually(received, 10.0)
    finally:
        await late.stop()


async def test_end_to_end_over_kafka_with_the_test_broker(env: EventsEnv, namespace: str) -> None:
    transport = BrokerTransport(
        "kafka://localhost:9092", namespace=namespace, redeliver_seconds=0.01
    )
    consumer = make_consumer(env, "catalog")
    transport.subscribe(consumer.name, consumer.types, consumer.handle)
    async with TestKafkaBroker(transport.broker):
        await transport.start()
        await transport.ping()
        relay = OutboxRelay(env.db, env.tables, transport)
        await add(env, ("OrderPaid", "a"), ("OrderPaid", "b"), ("ReviewPosted", "poison"))
        # The test broker delivers while publishing.
        assert await relay.deliver_pending() == 3
        assert sorted(r.note for r in await env.rows(env.effects)) == ["a", "b"]
        inbox = {r.type: r for r in await env.rows(env.tables.inbox)}
        assert (inbox["ReviewPosted"].status, inbox["ReviewPosted"].attempts) == ("failed", 1)

        assert await republish_all(env, relay) == 3
        assert await env.count(env.effects) == 2  # redelivery changed nothing

        # A message that is not an envelope is logged and dropped, not retried forever.
        await transport.broker.publish(b"not an event", topic=f"{namespace}.events.OrderPaid")
        assert await env.count(env.effects) == 2
        await transport.stop()
