"""Typed helpers for the purchases tests: buyers with carts, checkouts, waiting for events."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.purchases.client import PurchasesClient
from lugx.services.purchases.models import Entitlement, Order
from tests.catalog.factories import admin_account
from tests.conftest import database_of, over_http
from tests.payments.factories import card, funded
from tests.shopping.factories import add_to_cart, games
from tests.users.factories import Account, signed_up

API = "/api/v1/purchases"
CHECKOUT = f"{API}/checkout"
LIBRARY = f"{API}/library"


async def buyer(
    client: httpx.AsyncClient, *app_ids: int, wallet: int = 0, gifts: dict[int, str] | None = None
) -> Account:
    """A player with `wallet` cents in their wallet and these games in their cart (a game in
    `gifts` goes to that recipient's user id)."""
    account = await signed_up(client)
    if wallet:
        await funded(client, account, wallet)
    for app_id in app_ids:
        extra = {"gift_for": gifts[app_id]} if gifts and app_id in gifts else {}
        response = await add_to_cart(client, account, app_id, **extra)
        assert response.status_code == 201, response.text
    return account


async def store(client: httpx.AsyncClient, platform: Platform, *prices: int) -> list[int]:
    """Published games at these prices; their app_ids."""
    _owner, made = await games(client, platform, *prices)
    return [int(game["app_id"]) for game in made]


async def checkout(
    client: httpx.AsyncClient,
    account: Account,
    *,
    method: str = "wallet",
    number: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"payment_method": method}
    if number is not None:
        body["card"] = card(number)
    headers = {**account.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post(CHECKOUT, json=body, headers=headers)


async def paid_order(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await checkout(client, account)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["status"] == "paid", order
    return order


async def order_of(client: httpx.AsyncClient, account: Account, order_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/orders/{order_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


async def library_of(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get(LIBRARY, params={"limit": 100}, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def wait_status(
    client: httpx.AsyncClient, account: Account, order_id: str, *statuses: str
) -> dict[str, Any]:
    """Wait until the order is in one of `statuses` (events move it on their own time)."""

    async def reached() -> bool:
        return (await order_of(client, account, order_id))["status"] in statuses

    await eventually(reached, what=f"order {order_id} to be {statuses}")
    return await order_of(client, account, order_id)


async def admin(client: httpx.AsyncClient, platform: Platform) -> Account:
    return await admin_account(client, platform)


def purchases_as(platform: Platform, caller: str) -> PurchasesClient:
    """Purchases' client with `caller`'s service token, over its internal endpoints."""
    return over_http(platform, PurchasesClient, caller)


async def count_rows(platform: Platform, model: type[Order] | type[Entitlement]) -> int:
    async with database_of(platform, "purchases").session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())
