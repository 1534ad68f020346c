"""`GET /internal/v1/catalog/sellables`: what shopping (and purchases) ask of the catalog to sell
items, in one lean call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Forbidden, LugxError, ValidationFailed
from lugx.services.catalog import operations, sellable_cache
from lugx.services.catalog.client import CatalogClient
from lugx.services.catalog.schemas import SELLABLES_PER_CALL
from lugx.services.catalog.service import GENERATION_KEY
from tests.catalog.factories import add_discount, create_game, publisher_account
from tests.catalog.test_internal import catalog_as
from tests.conftest import database_of
from tests.shopping.factories import bundle_of_two

SELLABLES = "/internal/v1/catalog/sellables"


_asked: ContextVar[list[str] | None] = ContextVar("asked", default=None)


@contextmanager
def selects_on_catalog(platform: Platform) -> Iterator[list[str]]:
    """The SELECT statements the catalog's database runs for what is asked inside the block
    (not for its background work, which runs in other contexts)."""
    engine = database_of(platform, "catalog").session_engine(write=False)
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        mine = _asked.get()
        if mine is not None and statement.lstrip().upper().startswith("SELECT"):
            mine.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    token = _asked.set(seen)
    try:
        yield seen
    finally:
        _asked.reset(token)
        event.remove(engine, "before_cursor_execute", count)


async def test_known_items_with_their_price_now_unknown_ones_left_out(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 1999, "currency": "USD"})
    draft = await create_game(client, owner, publish=False)
    now = datetime.now(UTC)
    discounted = await add_discount(
        client, owner, game["app_id"], 75, now - timedelta(minutes=1), now + timedelta(days=1)
    )
    assert discounted.status_code == 201, discounted.text
    with selects_on_catalog(platform) as selects:
        found = await catalog_as(platform, "shopping").sellables(
            [game["app_id"], draft["app_id"], 999_999_990]
        )
    assert len(selects) == 1  # no bundle: one query
    assert set(found) == {game["app_id"], draft["app_id"]}
    item = found[game["app_id"]]
    assert (item.type, item.status, item.title) == ("game", "published", game["title"])
    assert item.header_image == game["header_image"]
    assert item.price.amount == 1999
    assert item.final_price.amount == 500  # the catalog's rule: 4.9975 rounds half up
    assert item.final_price.currency == "USD"
    assert item.discount_percent == 75
    assert item.bundle_items == []
    public = (await client.get("/api/v1/catalog/prices", params={"app_ids": game["app_id"]})).json()
    assert public[str(game["app_id"])]["final_price"] == item.final_price.model_dump()
    assert found[draft["app_id"]].status == "draft"  # shown as it is: the caller decides


async def test_a_bundle_comes_with_its_items(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = await publisher_account(client, platform)
    one = await create_game(client, owner, price={"amount": 1000, "currency": "USD"})
    two = await create_game(client, owner, price={"amount": 3000, "currency": "USD"})
    bundle = await create_game(
        client,
        owner,
        type="bundle",
        bundle_items=[two["app_id"], one["app_id"]],
        bundle_discount_percent=25,
    )
    withdrawn = await client.patch(
        f"/api/v1/catalog/games/{one['app_id']}",
        json={"status": "unpublished"},
        headers=owner.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    with selects_on_catalog(platform) as selects:
        found = await catalog_as(platform, "purchases").sellables([bundle["app_id"]])
    assert len(selects) == 2  # the bundle, then the items of every bundle asked for
    assert set(found) == {bundle["app_id"], one["app_id"], two["app_id"]}
    sold = found[bundle["app_id"]]
    assert sold.type == "bundle"
    assert sold.bundle_items == [two["app_id"], one["app_id"]]  # in the bundle's order
    assert sold.bundle_discount_percent == 25
    assert found[one["app_id"]].status == "unpublished"
    assert found[two["app_id"]].final_price.amount == 3000


async def test_in_process_the_answer_is_the_same(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Shopping and purchases run `operations.sellables` directly in the embedded wiring; it
    answers exactly what the endpoint does, bundles and their items included."""
    one, two, bundle = await bundle_of_two(client, platform)
    asked = [one["app_id"], bundle["app_id"], 999_999_990]
    in_process = platform.runtimes["shopping"].ctx.client(CatalogClient)
    assert in_process.local is not None
    local = await in_process.sellables(asked)
    assert local == await catalog_as(platform, "shopping").sellables(asked)
    assert set(local) == {one["app_id"], two["app_id"], bundle["app_id"]}
    for too_many in ([], list(range(1, SELLABLES_PER_CALL + 2))):  # the endpoint's limits too
        with pytest.raises(ValidationFailed):
            await in_process.sellables(too_many)


async def test_only_services_may_ask(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    with pytest.raises(Forbidden):
        await catalog_as(platform, "users").sellables([game["app_id"]])
    catalog = CatalogClient(platform.wiring.clients.caller("catalog"))  # no service token
    with pytest.raises(Forbidden):
        await catalog.sellables([game["app_id"]])
    public = await client.get(SELLABLES, params={"app_ids": game["app_id"]}, headers=owner.headers)
    assert public.status_code == 404  # the gateway routes only /api/v1


async def test_a_malformed_ask_is_refused(client: httpx.AsyncClient, platform: Platform) -> None:
    catalog = catalog_as(platform, "shopping")
    for params in ({}, {"app_ids": "x"}, {"app_ids": list(range(1, 202))}):
        with pytest.raises(LugxError) as refused:
            await catalog.request("GET", SELLABLES, params=params)
        assert refused.value.status == 422, params


# --- the cache (sellable_cache) -------------------------------------------------------------


def in_process_catalog(platform: Platform) -> CatalogClient:
    """Shopping's catalog client as the embedded wiring runs it: operations.sellables itself."""
    catalog = platform.runtimes["shopping"].ctx.client(CatalogClient)
    assert catalog.local is not None
    return catalog


async def test_an_ask_again_reads_nothing_and_a_change_is_seen_at_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 1999, "currency": "USD"})
    app_id = game["app_id"]
    catalog = in_process_catalog(platform)
    with selects_on_catalog(platform) as selects:
        first = await catalog.sellables([app_id])
        again = await catalog.sellables([app_id])
    assert len(selects) == 1  # the second ask came from the cache
    assert again == first
    repriced = await client.patch(
        f"/api/v1/catalog/games/{app_id}",
        json={"price": {"amount": 2999, "currency": "USD"}},
        headers=owner.headers,
    )
    assert repriced.status_code == 200, repriced.text
    with selects_on_catalog(platform) as selects:
        after = await catalog.sellables([app_id])
    assert len(selects) == 1  # the change dropped the entry: read again
    assert after[app_id].price.amount == after[app_id].final_price.amount == 2999
    now = datetime.now(UTC)
    discounted = await add_discount(
        client, owner, app_id, 50, now - timedelta(minutes=1), now + timedelta(days=1)
    )
    assert discounted.status_code == 201, discounted.text
    assert (await catalog.sellables([app_id]))[app_id].final_price.amount == 1500


async def test_a_row_read_before_a_change_and_stored_after_it_is_not_served(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """A read racing a price change: it read the generation and the old row, the change was
    committed (and the generation moved on), then it stored what it had read. The next ask
    reads the row again."""
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 1000, "currency": "USD"})
    app_id = game["app_id"]
    ctx = platform.runtimes["catalog"].ctx
    generation, _ = await ctx.cache.counter(GENERATION_KEY)
    late = (await sellable_cache.load(ctx.cache, ctx.db, generation, [app_id]))[app_id]
    repriced = await client.patch(
        f"/api/v1/catalog/games/{app_id}",
        json={"price": {"amount": 4000, "currency": "USD"}},
        headers=owner.headers,
    )
    assert repriced.status_code == 200, repriced.text
    await ctx.cache.set(
        sellable_cache.sellable_key(app_id), sellable_cache.encode(generation, late), 300
    )
    with selects_on_catalog(platform) as selects:
        found = await in_process_catalog(platform).sellables([app_id])
    assert len(selects) == 1
    assert found[app_id].price.amount == 4000


async def test_a_discount_starts_and_ends_on_a_kept_row(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache keeps rows, not prices: a discount's start and end need no change of it."""
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner, price={"amount": 2000, "currency": "USD"})
    app_id = game["app_id"]
    now = datetime.now(UTC)
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=2)
    scheduled = await add_discount(client, owner, app_id, 25, starts, ends)
    assert scheduled.status_code == 201, scheduled.text
    catalog = in_process_catalog(platform)
    prices = []
    with selects_on_catalog(platform) as selects:
        for moment in (now, starts + timedelta(minutes=1), ends + timedelta(minutes=1)):
            monkeypatch.setattr(operations, "utcnow", lambda moment=moment: moment)
            prices.append((await catalog.sellables([app_id]))[app_id].final_price.amount)
    assert prices == [2000, 1500, 2000]
    assert len(selects) == 1


async def test_a_bundle_kept_comes_with_its_items_kept(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    one, two, bundle = await bundle_of_two(client, platform)
    catalog = in_process_catalog(platform)
    first = await catalog.sellables([bundle["app_id"]])
    with selects_on_catalog(platform) as selects:
        again = await catalog.sellables([bundle["app_id"]])
        items = await catalog.sellables([one["app_id"], two["app_id"]])
    assert selects == []  # the items were kept when the bundle was read
    assert again == first
    assert items == {app_id: first[app_id] for app_id in (one["app_id"], two["app_id"])}
