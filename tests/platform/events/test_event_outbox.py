"""The outbox: an event is written in the caller's transaction, or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from sqlalchemy import insert, select

from lugx.platform.events import publish
from lugx.platform.events.outbox import notify_after_commit

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
