"""Buying a bundle: its items land in the library, each once, named as the catalog names them,
with one catalog lookup for the bundle and all its items."""

from __future__ import annotations

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from tests.purchases.factories import buyer, checkout, library_of, paid_order
from tests.shopping.factories import add_to_cart, bundle_of_two, service_calls


async def test_a_bundle_puts_each_of_its_items_in_the_library_once(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, bundle = await bundle_of_two(client, platform)
    player = await buyer(client, one["app_id"], wallet=10_000)
    await paid_order(client, player)  # owns `one` already
    assert (await add_to_cart(client, player, bundle["app_id"])).status_code == 201
    with service_calls(monkeypatch) as calls:
        order = (await checkout(client, player)).json()
    assert order["status"] == "paid", order
    assert order["total"]["amount"] == 2250  # completes the set: `two`, 25 % off
    # Shopping prices the frozen cart, purchases learns what the bundle grants: one each.
    assert [c for c in calls if c.startswith("CatalogClient")] == ["CatalogClient sellables"] * 2
    library = {item["app_id"]: item for item in await library_of(client, player)}
    assert sorted(library) == sorted([one["app_id"], two["app_id"]])
    assert library[two["app_id"]]["title"] == two["title"]
    assert library[one["app_id"]]["order_id"] != library[two["app_id"]]["order_id"]
