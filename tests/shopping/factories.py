"""Typed helpers for the shopping tests: carts, coupons and events through the real platform."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from lugx.platform.clients import ServiceClient
from lugx.platform.events import Event
from lugx.services.shopping.client import ShoppingClient
from lugx.services.shopping.models import EVENTS, Coupon, CouponUse
from tests.catalog.factories import admin_account, create_game, publisher_account
from tests.conftest import database_of, over_http
from tests.users.factories import Account, signed_up

CART = "/api/v1/shopping/cart"
WISHLIST = "/api/v1/shopping/wishlist"
COUPONS = "/api/v1/shopping/coupons"


def shopping_as(platform: Platform, caller: str = "purchases") -> ShoppingClient:
    """The shopping client as another service would hold it (with that service's token),
    over its internal endpoints (never in-process), so their guard is what answers."""
    return over_http(platform, ShoppingClient, caller)


async def games(
    client: httpx.AsyncClient, platform: Platform, *prices: int
) -> tuple[Account, list[dict[str, Any]]]:
    """A publisher and published games at these USD prices (cents)."""
    owner = await publisher_account(client, platform)
    made = [
        await create_game(client, owner, price={"amount": amount, "currency": "USD"})
        for amount in prices
    ]
    return owner, made


async def bundle_of_two(
    client: httpx.AsyncClient, platform: Platform
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two published games ($10 and $30) and a bundle of both at 25 % off: (one, two, bundle)."""
    owner, (one, two) = await games(client, platform, 1000, 3000)
    bundle = await create_game(
        client,
        owner,
        type="bundle",
        bundle_items=[one["app_id"], two["app_id"]],
        bundle_discount_percent=25,
    )
    return one, two, bundle


async def add_to_cart(
    client: httpx.AsyncClient, account: Account, app_id: int, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{CART}/items", json={"app_id": app_id, **extra}, headers=account.headers
    )


async def cart_of(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.get(CART, headers=account.headers)
    assert response.status_code == 200, response.text
    cart: dict[str, Any] = response.json()
    return cart


async def make_coupon(client: httpx.AsyncClient, maker: Account, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": f"C{uuid.uuid4().hex[:10]}", "percent": 10}
    body.update(fields)
    response = await client.post(COUPONS, json=body, headers=maker.headers)
    assert response.status_code == 201, response.text
    coupon: dict[str, Any] = response.json()
    return coupon


async def published(platform: Platform, service: str, type: str) -> list[dict[str, Any]]:
    """Payloads of the events of `type` a service wrote to its outbox, oldest first."""
    outbox = EVENTS.outbox  # every service's event tables have the same shape
    async with database_of(platform, service).session(write=False) as session:
        rows = (
            await session.execute(
                select(outbox.c.payload).where(outbox.c.type == type).order_by(outbox.c.occurred_at)
            )
        ).all()
    return [orjson.loads(row.payload) for row in rows]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Wait for events to be delivered (the relay runs on its own)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def deliver(platform: Platform, type: str, payload: dict[str, Any], **envelope: Any) -> Event:
    """Hand an event to the shopping service's consumer, as the transport does (inbox and all)."""
    event = Event(
        type=type,
        producer="purchases",
        key=str(payload.get("order_id", "")),
        payload=payload,
        **envelope,
    )
    await platform.runtimes["shopping"].ctx.events.consumer.handle(event)
    return event


@contextmanager
def service_calls(
    monkeypatch: pytest.MonkeyPatch, before: Callable[[str], Awaitable[None]] | None = None
) -> Iterator[list[str]]:
    """The calls typed clients make inside the block: `"<Client> <path>"` over HTTP or ASGI,
    `"<Client> <operation> <ids>"` run in-process (`ServiceClient.run_local`). A user's id is
    kept: it tells owners apart. `before` runs ahead of each call, given that."""
    made: list[str] = []
    request, run_local = ServiceClient.request, ServiceClient.run_local

    async def note(call: str) -> None:
        made.append(call)
        if before is not None:
            await before(call)

    async def counted(self: ServiceClient, method: str, path: str, **kwargs: Any) -> Any:
        await note(f"{type(self).__name__} {path}")
        return await request(self, method, path, **kwargs)

    async def counted_local(self: ServiceClient, operation: Any, *args: Any) -> Any:
        ids = [str(arg) for arg in args if isinstance(arg, uuid.UUID)]
        await note(" ".join([type(self).__name__, operation.__name__, *ids]))
        return await run_local(self, operation, *args)

    with monkeypatch.context() as patched:
        patched.setattr(ServiceClient, "request", counted)
        patched.setattr(ServiceClient, "run_local", counted_local)
        yield made


def writer_free(platform: Platform, service: str = "shopping") -> Callable[[str], Awaitable[None]]:
    """A `before` for `service_calls`: take the service's writer, and fail if it does not come
    (the request being served holds it while it calls out: on SQLite it would never come)."""

    async def take(_call: str) -> None:
        async def write() -> None:
            async with database_of(platform, service).session():
                pass

        try:
            await asyncio.wait_for(write(), timeout=10)
        except TimeoutError:
            raise AssertionError(f"{service} calls another service holding its writer") from None

    return take


async def coupon_state(platform: Platform, code: str) -> tuple[int, list[str]]:
    async with database_of(platform, "shopping").session(write=False) as session:
        coupon = (await session.execute(select(Coupon).where(Coupon.code == code))).scalar_one()
        uses = (
            await session.execute(select(CouponUse.status).where(CouponUse.coupon_id == coupon.id))
        ).scalars()
        return coupon.uses, sorted(uses)


async def shopper(
    client: httpx.AsyncClient, app_ids: list[int], code: str | None = None
) -> Account:
    player = await signed_up(client)
    for app_id in app_ids:
        assert (await add_to_cart(client, player, app_id)).status_code == 201
    if code is not None:
        applied = await client.post(f"{CART}/coupon", json={"code": code}, headers=player.headers)
        assert applied.status_code == 200, applied.text
    return player


def paid(
    player: Account, order_id: uuid.UUID, app_ids: list[int], code: str | None
) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "user_id": player.id,
        "total": {"amount": 0, "currency": "USD"},
        "coupon_code": code,
        "lines": [
            {"app_id": a, "recipient_id": None, "price": None, "final_price": None} for a in app_ids
        ],
    }


async def held_with_coupon(
    client: httpx.AsyncClient, platform: Platform, code: str, **limits: Any
) -> tuple[Account, dict[str, Any], uuid.UUID]:
    """A player whose cart (one $20 game, with a 10 % coupon `code` under these limits) is
    frozen for a new order, which reserved one use: (player, game, order id)."""
    admin = await admin_account(client, platform)
    _, (game,) = await games(client, platform, 2000)
    await make_coupon(client, admin, code=code, percent=10, **limits)
    player = await shopper(client, [game["app_id"]], code)
    order_id = uuid.uuid4()
    await shopping_as(platform).checkout(uuid.UUID(player.id), order_id)
    return player, game, order_id
