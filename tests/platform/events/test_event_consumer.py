"""The consumer: at most one effect per event, retries through the transport, dead letters at
the limit, and replay once the fault is fixed."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.events import (
    Consumer,
    DeadLetterAlreadyReplayed,
    DeadLetterNotFound,
    DoneHere,
    Event,
    InProcessTransport,
    OutboxRelay,
    ReplayFailed,
    SkipWhen,
    publish,
)
from lugx.platform.events.admin import (
    format_dead_letters,
    list_dead_letters,
    parse_id,
    replay_dead_letter,
)

if TYPE_CHECKING:
    from tests.platform.events.conftest import EventsEnv


def paid(note: str = "hello") -> Event:
    return Event(type="OrderPaid", producer="purchases", key="o-1", payload={"note": note})


class Fault:
    """A handler fault an operator can fix."""

    def __init__(self) -> None:
        self.fixed = False

    def __call__(self, _event: Event) -> bool:
        return not self.fixed


async def test_handles_an_event_once(env: EventsEnv) -> None:
    consumer = Consumer(
        "catalog", env.db, env.tables, {"OrderPaid": env.effect_handler()}, max_attempts=3
    )
    event = paid()
    await consumer.handle(event)
    await consumer.handle(event)
    assert await env.count(env.effects) == 1
    (effect,) = await env.rows(env.effects)
    assert (effect.event_id, effect.note) == (event.id, "hello")


async def test_an_event_its_handler_knows_is_applied_costs_nothing(env: EventsEnv) -> None:
    """SkipWhen: an event `applied` says is done is acknowledged without running the handler
    or writing an inbox row; any other is handled as usual, once."""
    done: set[uuid.UUID] = set()
    handler = SkipWhen(env.effect_handler(), lambda event: event.id in done)
    consumer = Consumer("catalog", env.db, env.tables, {"OrderPaid": handler}, max_attempts=3)
    repeat, fresh = paid("repeat"), paid("fresh")
    done.add(repeat.id)
    for _ in range(2):
        await consumer.handle(repeat)
        await consumer.handle(fresh)
    assert [row.note for row in await env.rows(env.effects)] == ["fresh"]
    assert await env.count(env.tables.inbox) == 1


def test_done_here_remembers_the_newest_ids_and_tests_events_by_a_payload_field() -> None:
    done = DoneHere(size=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for one in (first, second, third):
        done.add(one)
    assert first not in done  # the oldest is forgotten
    assert second in done
    assert third in done
    applied = done.event_about("order_id")
    about = Event(type="OrderPaid", producer="p", key="k", payload={"order_id": str(third)})
    other = Event(type="OrderPaid", producer="p", key="k", payload={"order_id": str(first)})
    assert applied(about)
    assert not applied(other)
    extras: dict[str, object] = {}
    assert DoneHere.of(extras, "x") is DoneHere.of(extras, "x")


async def test_concurrent_deliveries_of_one_event_have_one_effect(env: EventsEnv) -> None:
    async def slow_handler(session: AsyncSession, event: Event) -> None:
        await env.effect_handler()(session, event)
        await asyncio.sleep(0.05)  # both deliveries are in flight together

    consumer = Consumer("catalog", env.db, env.tables, {"OrderPaid": slow_handler}, max_attempts=3)
    event = paid()
    await asyncio.gather(*(consumer.handle(event) for _ in range(5)))
    assert await env.count(env.effects) == 1


async def test_two_consumers_on_one_database_each_handle_the_event(env: EventsEnv) -> None:
    handlers = {
        name: Consumer(
            name, env.db, env.tables, {"OrderPaid": env.effect_handler(name)}, max_attempts=3
        )
        for name in ("catalog", "notifications")
    }
    event = paid()
    for consumer in handlers.values():
        await consumer.handle(event)
        await consumer.handle(event)
    assert sorted(r.consumer for r in await env.rows(env.effects)) == ["catalog", "notifications"]


async def test_a_failing_handler_rolls_back_and_is_retried_then_dead_lettered(
    env: EventsEnv,
) -> None:
    fault = Fault()
    consumer = Consumer(
        "catalog", env.db, env.tables, {"OrderPaid": env.effect_handler(fail=fault)}, max_attempts=3
    )
    event = paid()
    for attempt in (1, 2):
        with pytest.raises(RuntimeError, match="handler fault"):
            await consumer.handle(event)
        (inbox,) = await env.rows(env.tables.inbox)
        assert (inbox.status, inbox.attempts) == ("failed", attempt)
        assert inbox.last_error == "RuntimeError: handler fault on OrderPaid"
    await consumer.handle(event)  # the last attempt: dead-lettered and acknowledged

    assert await env.count(env.effects) == 0  # every failed attempt rolled back its write
    (inbox,) = await env.rows(env.tables.inbox)
    assert (inbox.status, inbox.attempts) == ("dead", 3)
    (letter,) = await consumer.list_dead_letters()
    assert (letter.consumer, letter.event_id, letter.type, letter.attempts) == (
        "catalog",
        event.id,
        "OrderPaid",
        3,
    )
    assert letter.event == event
    assert letter.error == "RuntimeError: handler fault on OrderPaid"
    assert letter.replayed_at is None

    # A redelivery of a dead event does not run the handler again.
    fault.fixed = True
    await consumer.handle(event)
    assert await env.count(env.effects) == 0

    # The operator replays it once the fault is fixed.
    replayed = await replay_dead_letter(consumer, str(letter.id))
    assert replayed.replayed_at is not None
    assert await env.count(env.effects) == 1
    (inbox,) = await env.rows(env.tables.inbox)
    assert (inbox.status, inbox.attempts) == ("done", 4)
    assert await consumer.list_dead_letters() == []
    (stored,) = await consumer.list_dead_letters(include_replayed=True)
    assert stored.replayed_at == replayed.replayed_at

    with pytest.raises(DeadLetterAlreadyReplayed):
        await consumer.replay(letter.id)
    await consumer.handle(event)
    assert await env.count(env.effects) == 1


async def test_replay_that_fails_again_keeps_the_dead_letter(env: EventsEnv) -> None:
    consumer = Consumer(
        "catalog",
        env.db,
        env.tables,
        {"OrderPaid": env.effect_handler(fail=Fault())},
        max_attempts=1,
    )
    await consumer.handle(paid())
    (letter,) = await consumer.list_dead_letters()

    with pytest.raises(ReplayFailed, match="handler fault"):
        await consumer.replay(letter.id)

    (again,) = await consumer.list_dead_letters()
    assert again.id == letter.id
    assert again.replayed_at is None
    assert again.attempts == 2
    assert await env.count(env.effects) == 0
    (inbox,) = await env.rows(env.tables.inbox)
    assert inbox.status == "dead"


async def test_replay_of_unknown_or_foreign_ids_is_refused(env: EventsEnv) -> None:
    catalog = Consumer(
        "catalog",
        env.db,
        env.tables,
        {"OrderPaid": env.effect_handler(fail=Fault())},
        max_attempts=1,
    )
    other = Consumer(
        "social", env.db, env.tables, {"OrderPaid": env.effect_handler()}, max_attempts=1
    )
    await catalog.handle(paid())
    (letter,) = await catalog.list_dead_letters()

    with pytest.raises(DeadLetterNotFound):
        await catalog.replay(uuid.uuid4())
    with pytest.raises(DeadLetterNotFound):
        await other.replay(letter.id)  # another consumer's dead letter
    with pytest.raises(DeadLetterNotFound):
        parse_id("not-a-uuid")
    assert await env.count(env.effects) == 0


async def test_dead_letters_listing_for_operators(env: EventsEnv) -> None:
    consumer = Consumer(
        "catalog",
        env.db,
        env.tables,
        {"OrderPaid": env.effect_handler(fail=Fault())},
        max_attempts=1,
    )
    assert format_dead_letters(await list_dead_letters(env.db, env.tables)) == "no dead letters"
    await consumer.handle(paid("first"))
    await consumer.handle(paid("second"))

    letters = await list_dead_letters(env.db, env.tables, consumer="catalog")
    assert len(letters) == 2
    assert [letter.event.payload["note"] for letter in letters] == [
        "second",
        "first",
    ]  # newest first
    assert await list_dead_letters(env.db, env.tables, consumer="social") == []
    table = format_dead_letters(letters).splitlines()
    assert table[0].split()[:3] == ["id", "consumer", "type"]
    assert str(letters[0].id) in table[1]
    assert "RuntimeError: handler fault on OrderPaid" in table[1]


async def test_an_event_without_a_handler_is_ignored(env: EventsEnv) -> None:
    consumer = Consumer(
        "catalog", env.db, env.tables, {"OrderPaid": env.effect_handler()}, max_attempts=3
    )
    await consumer.handle(Event(type="GameDiscounted", producer="catalog", key="g", payload={}))
    assert await env.count(env.tables.inbox) == 0


async def test_a_handler_that_keeps_failing_ends_in_dead_letters_through_the_relay(
    env: EventsEnv,
) -> None:
    """End to end, in process: outbox -> relay -> transport -> consumer, until dead-lettered."""
    fault = Fault()
    consumer = Consumer(
        "catalog", env.db, env.tables, {"OrderPaid": env.effect_handler(fail=fault)}, max_attempts=3
    )
    transport = InProcessTransport()
    transport.subscribe(consumer.name, consumer.types, consumer.handle)
    await transport.start()
    relay = OutboxRelay(
        env.db, env.tables, transport, max_attempts=5, backoff_base=0.001, backoff_max=0.001
    )
    async with env.db.session(write=True) as session:
        event = await publish(
            session, env.tables, producer="purchases", type="OrderPaid", key="o", payload={}
        )

    for _ in range(10):
        await relay.deliver_pending()
        await asyncio.sleep(0.005)

    (row,) = await env.rows(env.tables.outbox)
    assert row.published_at is not None  # the consumer acknowledged it by dead-lettering
    assert row.attempts == 3
    (letter,) = await consumer.list_dead_letters()
    assert letter.event_id == event.id
    assert await env.count(env.effects) == 0

    fault.fixed = True
    await consumer.replay(letter.id)
    assert await env.count(env.effects) == 1
