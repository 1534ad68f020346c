"""SIGKILL at each step of the checkout saga, then a restart: every paid order has its
entitlements exactly once, nothing is paid twice, every succeeded charge has its order. And
SIGKILL in a refund between the money going back and the order: the restart finishes it, once.

The parent makes a store, a funded player and a cart on a SQLite data dir, stops, runs
`crash_child.py` (the whole platform) which dies by SIGKILL at the named step, then starts the
platform again on the same files and lets the recovery loop and the relays finish the job.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lugx.gateway.app import create_gateway
from lugx.platform.bootstrap import Platform
from lugx.platform.db import Database
from lugx.platform.settings import Settings
from lugx.services import available
from lugx.services.payments.models import Charge, Refund
from lugx.services.purchases.crash import POINTS
from lugx.services.purchases.models import Entitlement, Order, RefundRequest
from tests import conftest
from tests.conftest import database_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crash_child.py")
SAGA_POINTS = [point for point in POINTS if point != "refunding"]
REFUND_POINTS = ["refunding"]


def crash_settings(data_dir: Path, **overrides: Any) -> Settings:
    template = f"sqlite+aiosqlite:///{data_dir}/{{service}}.db"
    values: dict[str, Any] = {
        "redis_url": None,
        "broker_url": None,
        "demo_data": False,
        "purchases_pending_grace_seconds": 0.5,
        "purchases_recovery_interval_seconds": 0.2,
    }
    values.update(overrides)
    return conftest.test_settings(data_dir, template, **values)


@asynccontextmanager
async def running(
    data_dir: Path, *, migrate: bool = False
) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = Platform(crash_settings(data_dir), available())
    await platform.start(migrate=migrate, seed=False)
    gateway = create_gateway(
        platform.wiring, {name: r.app for name, r in platform.runtimes.items()}, readiness={}
    )
    transport = httpx.ASGITransport(app=gateway, client=("203.0.113.7", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://lugx.test") as http:
            yield platform, http
    finally:
        await platform.stop()


async def prepare(data_dir: Path) -> tuple[str, list[int]]:
    """A store, a player with 100.00 in the wallet and two games in the cart: their token."""
    from tests.purchases.factories import buyer, store

    async with running(data_dir, migrate=True) as (platform, http):
        app_ids = await store(http, platform, 1999, 999)
        player = await buyer(http, *app_ids, wallet=10_000)
    return player.access_token, app_ids


async def run_child(data_dir: Path, point: str, token: str, *order_id: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        str(data_dir),
        point,
        token,
        *order_id,
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL, output.decode()[-3000:]


async def settled(platform: Platform) -> list[Order]:
    """Wait until no order is left pending (the recovery loop's work), then return them."""
    for _ in range(300):
        async with database_of(platform, "purchases").session(write=False) as session:
            orders = list((await session.execute(select(Order))).scalars())
        if all(o.status not in ("pending", "paid") for o in orders):
            return orders
        await asyncio.sleep(0.1)
    raise AssertionError(f"orders never settled: {[o.status for o in orders]}")


@pytest.mark.parametrize("point", SAGA_POINTS)
async def test_a_checkout_killed_at_any_step_ends_consistent(tmp_path: Path, point: str) -> None:
    data_dir = tmp_path / "data"
    token, app_ids = await prepare(data_dir)
    await run_child(data_dir, point, token)
    async with running(data_dir) as (platform, http):
        orders = await settled(platform)
        async with database_of(platform, "purchases").session(write=False) as session:
            entitlements = list((await session.execute(select(Entitlement))).scalars())
        async with database_of(platform, "payments").session(write=False) as session:
            charges = list((await session.execute(select(Charge))).scalars())
        wallet = await http.get(
            "/api/v1/payments/wallet", headers={"Authorization": f"Bearer {token}"}
        )
        from tests.payments.factories import assert_ledger_balanced

        await assert_ledger_balanced(platform)
    assert len(orders) <= 1
    paid = [o for o in orders if o.status == "completed"]
    succeeded = [c for c in charges if c.status == "succeeded"]
    assert len(charges) <= 1  # never charged twice
    for charge in succeeded:  # every succeeded charge has its order, paid
        assert [o.id for o in paid] == [charge.order_id]
    if paid:
        assert sorted(e.app_id for e in entitlements) == sorted(app_ids)  # once each
        assert wallet.json()["balance"]["amount"] == 10_000 - 2998
    else:
        assert entitlements == []
        assert wallet.json()["balance"]["amount"] == 10_000
    if point in ("charged", "settling", "settled"):
        assert paid, "money was taken before the kill: the order must end paid"


async def _read(data_dir: Path, service: str, query: Any) -> list[Any]:
    """Rows of one service's SQLite file, read with no platform running."""
    database = Database(f"sqlite+aiosqlite:///{data_dir}/{service}.db")
    try:
        async with database.session(write=False) as session:
            return list((await session.execute(query)).scalars())
    finally:
        await database.dispose()


@pytest.mark.parametrize("point", REFUND_POINTS)
async def test_a_refund_killed_after_the_money_went_back_ends_refunded_once(
    tmp_path: Path, point: str
) -> None:
    data_dir = tmp_path / "data"
    token, app_ids = await prepare(data_dir)
    auth = {"Authorization": f"Bearer {token}"}
    async with running(data_dir) as (_platform, http):
        paid = await http.post(
            "/api/v1/purchases/checkout",
            json={"payment_method": "wallet"},
            headers={**auth, "Idempotency-Key": "paid-before"},
        )
        assert paid.status_code == 201, paid.text
        order_id = paid.json()["id"]
    await run_child(data_dir, point, token, order_id)
    # Killed in between: payments gave the money back, the order is not refunded yet.
    [refund] = await _read(data_dir, "payments", select(Refund))
    [order] = await _read(data_dir, "purchases", select(Order))
    assert order.status in ("paid", "completed")
    async with running(data_dir) as (platform, http):
        for _ in range(300):
            [order] = await _read(data_dir, "purchases", select(Order))
            if order.status == "refunded":
                break
            await asyncio.sleep(0.1)
        assert order.status == "refunded", "the recovery loop never finished the refund"
        wallet = await http.get("/api/v1/payments/wallet", headers=auth)
        library = await http.get("/api/v1/purchases/library", headers=auth)
        from tests.payments.factories import assert_ledger_balanced

        await assert_ledger_balanced(platform)
    assert wallet.json()["balance"]["amount"] == 10_000  # the money back once, not twice
    assert library.json()["items"] == []
    assert [r.id for r in await _read(data_dir, "payments", select(Refund))] == [refund.id]
    [charge] = await _read(data_dir, "payments", select(Charge))
    assert charge.refunded == charge.amount == 2998
    [request] = await _read(data_dir, "purchases", select(RefundRequest))
    assert (request.status, request.refund_id) == ("approved", refund.id)
    revoked = await _read(data_dir, "purchases", select(Entitlement))
    assert sorted(e.app_id for e in revoked if e.revoked_at is not None) == sorted(app_ids)
