"""Nothing is lost, and nothing happens twice, when a process is SIGKILLed.

A child process commits a domain row and its outbox event, then dies by SIGKILL: right after the
commit, while its relay is publishing, or while a consumer's handler is half way. A relay and a
consumer in this process then deliver from the same database, twice over, and the handler's
effect exists exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from lugx.platform.db import utcnow
from lugx.platform.events import Consumer, InProcessTransport, OutboxRelay

if TYPE_CHECKING:
    from tests.platform.events.conftest import EventsEnv

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("crash_child.py")
SRC = Path(__file__).resolve().parents[3] / "src"
CHILD_LEASE_SECONDS = 0.5  # crash_child.LEASE_SECONDS


async def run_child_until_killed(url: str, mode: str) -> str:
    """Start the child, kill it at the moment `mode` names, return the event id it committed."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), url, mode, stdout=asyncio.subprocess.PIPE, env=environment
    )
    assert proc.stdout is not None
    try:
        committed = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().split()
        assert committed[0] == "COMMITTED", committed
        if mode != "after-commit":
            reached = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().split()
            assert reached == [
                {
                    "mid-publish": "PUBLISHING",
                    "fresh-mid-publish": "PUBLISHING",
                    "mid-handler": "HANDLING",
                }[mode],
                committed[1],
            ]
            proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), timeout=30) == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return committed[1]


@pytest.mark.parametrize(
    "mode", ["after-commit", "mid-publish", "fresh-mid-publish", "mid-handler"]
)
async def test_sigkilled_producer_loses_nothing_and_duplicates_nothing(
    env: EventsEnv, mode: str
) -> None:
    event_id = await run_child_until_killed(env.url, mode)

    # The committed change and its event survived the crash; the half-done handler did not.
    assert await env.count(env.orders) == 1
    (row,) = await env.rows(env.tables.outbox)
    assert str(row.id) == event_id
    assert row.published_at is None
    assert await env.count(env.effects) == 0

    transport = InProcessTransport()
    consumer = Consumer(
        "catalog", env.db, env.tables, {"OrderPaid": env.effect_handler("catalog")}, max_attempts=3
    )
    transport.subscribe(consumer.name, consumer.types, consumer.handle)
    await transport.start()
    relay = OutboxRelay(env.db, env.tables, transport)

    if mode == "fresh-mid-publish":
        # Never claimed: the grace the row was written with holds it for a moment instead.
        assert row.attempts == 0
        assert await relay.deliver_pending() == 0
        await asyncio.sleep(max(0.0, (row.next_attempt_at - utcnow()).total_seconds()) + 0.05)
    elif mode != "after-commit":
        # The dead relay's lease still holds the row for a moment, then it is due again.
        assert row.attempts == 1
        assert await relay.deliver_pending() == 0
        await asyncio.sleep(max(0.0, (row.next_attempt_at - utcnow()).total_seconds()) + 0.05)
    assert await relay.deliver_pending() == 1

    # Delivered again: a relay that crashed before recording the publish, then a second relay.
    async with env.db.session(write=True) as session:
        await session.execute(
            update(env.tables.outbox).values(published_at=None, next_attempt_at=utcnow())
        )
    assert await OutboxRelay(env.db, env.tables, transport).deliver_pending() == 1
    assert await relay.deliver_pending() == 0

    effects = await env.rows(env.effects)
    assert len(effects) == 1
    assert str(effects[0].event_id) == event_id
    assert effects[0].note == ""  # written by this process's handler, not the killed child's
    (inbox,) = await env.rows(env.tables.inbox)
    assert inbox.status == "done"
    await transport.stop()
