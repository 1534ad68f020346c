"""A payments process SIGKILLed in the middle of a charge: money moves once or not at all."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.platform.money import Money
from lugx.services.payments.models import Charge, LedgerTransaction
from tests.conftest import database_of
from tests.payments.factories import assert_ledger_balanced, balance, funded, payments_as
from tests.users.factories import signed_up

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


async def charge_in_a_child_and_kill_it(
    platform: Platform, user_id: str, order_id: uuid.UUID, mode: str
) -> str:
    """Run the child until the moment `mode` names, SIGKILL it, return the charge id it made."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        ),
    }
    url = database_of(platform, "payments").url
    args = [url, platform.wiring.secret_key.hex(), user_id, str(order_id), mode]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), *args, stdout=asyncio.subprocess.PIPE, env=environment
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=60)).decode().split()
        assert line[0] == {"mid-transaction": "CHARGED", "after-commit": "COMMITTED"}[mode], line
        if mode == "mid-transaction":
            proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), timeout=30) == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return line[1]


async def count(platform: Platform, column: object) -> int:
    async with database_of(platform, "payments").session(write=False) as session:
        return int((await session.execute(select(func.count(column)))).scalar_one())  # type: ignore[call-overload]


async def retry(platform: Platform, user_id: str, order_id: uuid.UUID) -> str:
    charge = await payments_as(platform).charge(
        user_id=uuid.UUID(user_id),
        order_id=order_id,
        amount=Money(amount=1_000, currency="USD"),
        method="wallet",
    )
    assert charge.status == "succeeded"
    return str(charge.id)


async def test_killed_before_commit_nothing_moved_and_the_retry_charges_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 3_000)
    order_id = uuid.uuid4()
    await charge_in_a_child_and_kill_it(platform, player.id, order_id, "mid-transaction")
    assert await count(platform, Charge.id) == 0
    assert await balance(client, player) == 3_000
    transactions = await count(platform, LedgerTransaction.id)
    await retry(platform, player.id, order_id)
    assert await count(platform, LedgerTransaction.id) == transactions + 1
    assert await balance(client, player) == 2_000
    await assert_ledger_balanced(platform)


async def test_killed_after_commit_the_retry_finds_the_charge(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    await funded(client, player, 3_000)
    order_id = uuid.uuid4()
    charge_id = await charge_in_a_child_and_kill_it(platform, player.id, order_id, "after-commit")
    assert await retry(platform, player.id, order_id) == charge_id
    assert await balance(client, player) == 2_000
    await assert_ledger_balanced(platform)
