"""The outbox: an event is written in the caller's transaction, or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import async_sessionmaker

from lugx.platform.events import publish
from lugx.platform.events.outbox import notify_after_commit, outbox_row

if TYPE_CHECKING:
    from tests.platform.events.conftest import EventsEnv


class Rollback(Exception):
    pass


async def test_outbox_row_commits_with_the_domain_change(env: EventsEnv) -> None:
    order_id = uuid.uuid4()
    async with env.db.session(write=True) as session:
        await session.execute(insert(env.orders).values(id=order_id, note="paid"))
        event = await publish(
            session,
            env.tables,
            producer="purchases",
            type="OrderPaid",
            key=str(order_id),
            payload={"order_id": order_id, "amount": 1999},
        )
        # Not visible to anyone else before the commit.
        assert await env.count(env.tables.outbox) == 0

    assert await env.count(env.orders) == 1
    (row,) = await env.rows(env.tables.outbox)
    assert row.id == event.id
    assert (row.type, row.version, row.key, row.producer) == (
        "OrderPaid",
        1,
        str(order_id),
        "purchases",
    )
    assert orjson.loads(row.payload) == {"order_id": str(order_id), "amount": 1999}
    assert event.payload == {"order_id": str(order_id), "amount": 1999}
    assert row.occurred_at == event.occurred_at
    assert row.published_at is None
    assert row.attempts == 0
    assert row.next_attempt_at <= event.occurred_at


async def pay_order(
    env: EventsEnv,
    payload: dict[str, Any],
    *,
    fail: bool = False,
    notify: Callable[[], None] | None = None,
) -> None:
    """A service's unit of work: a domain change and its event, rolled back when `fail`."""
    async with env.db.session(write=True) as session:
        await session.execute(insert(env.orders).values(id=uuid.uuid4(), note="x"))
        await publish(
            session, env.tables, producer="purchases", type="OrderPaid", key="k", payload=payload
        )
        if notify is not None:
            notify_after_commit(session, notify)
        if fail:
            raise Rollback


async def test_outbox_row_vanishes_with_a_rollback(env: EventsEnv) -> None:
    with pytest.raises(Rollback):
        await pay_order(env, {}, fail=True)
    assert await env.count(env.orders) == 0
    assert await env.count(env.tables.outbox) == 0


async def test_a_payload_json_cannot_carry_changes_nothing(env: EventsEnv) -> None:
    with pytest.raises(TypeError):
        await pay_order(env, {"x": object()})
    assert await env.count(env.orders) == 0
    assert await env.count(env.tables.outbox) == 0


async def test_notify_after_commit_fires_on_commit_only(env: EventsEnv) -> None:
    calls: list[str] = []

    def notify() -> None:
        calls.append("notified")

    with pytest.raises(Rollback):
        await pay_order(env, {}, fail=True, notify=notify)
    assert calls == []

    async with env.db.session(write=True) as session:
        await publish(session, env.tables, producer="p", type="ThingDone", key="k", payload={})
        notify_after_commit(session, notify)
        notify_after_commit(session, notify)  # once per transaction, however many events
        async with session.begin_nested():
            await session.execute(insert(env.orders).values(id=uuid.uuid4(), note="x"))
        assert calls == []  # a savepoint is not the commit
    assert calls == ["notified"]
    assert await env.count(env.tables.outbox) == 1
    async with env.db.session(write=False) as session:
        assert (await session.scalar(select(env.tables.outbox.c.type))) == "ThingDone"


def outbox_inserts(env: EventsEnv) -> list[bool]:
    """Record each INSERT into the outbox the write units of work send: executemany or not."""
    sent: list[bool] = []

    def seen(_conn: Any, _cursor: Any, sql: str, _params: Any, _ctx: Any, many: bool) -> None:
        if sql.startswith(f"INSERT INTO {env.tables.outbox.name}"):
            sent.append(many)

    engine = env.db.session_engine(write=True)
    event.listen(engine, "before_cursor_execute", seen)
    return sent


async def test_a_unit_of_works_events_are_written_at_commit_in_one_statement(
    env: EventsEnv,
) -> None:
    sent = outbox_inserts(env)
    async with env.db.session(write=True) as session:
        for n in range(4):
            await publish(
                session, env.tables, producer="p", type="ThingDone", key=f"{n}", payload={}
            )
        assert sent == []  # kept until the commit
    assert sent == [True]  # one executemany: one round trip to PostgreSQL
    assert sorted(row.key for row in await env.rows(env.tables.outbox)) == ["0", "1", "2", "3"]


async def test_an_event_before_a_rolled_back_savepoint_stays_and_one_inside_goes(
    env: EventsEnv,
) -> None:
    async with env.db.session(write=True) as session:
        await publish(session, env.tables, producer="p", type="ThingDone", key="kept", payload={})
        savepoint = await session.begin_nested()
        await publish(session, env.tables, producer="p", type="ThingDone", key="undone", payload={})
        await savepoint.rollback()
    assert [row.key for row in await env.rows(env.tables.outbox)] == ["kept"]


async def test_an_outbox_write_failing_at_commit_rolls_the_unit_of_work_back(
    env: EventsEnv,
) -> None:
    async def pay_with_a_clashing_event() -> None:
        async with env.db.session(write=True) as session:
            await session.execute(insert(env.orders).values(id=uuid.uuid4(), note="x"))
            made = await publish(session, env.tables, producer="p", type="T", key="k", payload={})
            # The same event id written already: the INSERT at commit breaks the primary key.
            await session.execute(insert(env.tables.outbox).values(outbox_row(made)))

    with pytest.raises(IntegrityError):
        await pay_with_a_clashing_event()
    assert await env.count(env.orders) == 0
    assert await env.count(env.tables.outbox) == 0


async def test_an_event_kept_for_the_commit_goes_with_an_explicit_rollback(env: EventsEnv) -> None:
    async with env.db.session(write=True) as session:
        await publish(session, env.tables, producer="p", type="T", key="gone", payload={})
        await session.rollback()
        await publish(session, env.tables, producer="p", type="T", key="after", payload={})
    assert [row.key for row in await env.rows(env.tables.outbox)] == ["after"]


async def test_an_event_is_refused_in_a_single_statement_unit_of_work(env: EventsEnv) -> None:
    with pytest.raises(InvalidRequestError, match="single-statement"):
        async with env.db.session(single=True) as session:
            await publish(session, env.tables, producer="p", type="T", key="k", payload={})
    assert await env.count(env.tables.outbox) == 0


async def test_a_session_made_elsewhere_writes_its_event_at_once(env: EventsEnv) -> None:
    """Only a unit of work's commit is waited for: a session of its own gets the row now."""
    async with async_sessionmaker(env.db.writer)() as session:
        await publish(session, env.tables, producer="p", type="T", key="now", payload={})
        rows = (await session.execute(select(env.tables.outbox.c.key))).scalars().all()
        assert rows == ["now"]
        await session.commit()
    assert await env.count(env.tables.outbox) == 1
