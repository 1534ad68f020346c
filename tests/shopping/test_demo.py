"""The quick start: the demo player has a public wishlist and something in the cart."""

from __future__ import annotations

import httpx

from lugx.platform.bootstrap import Platform
from tests.shopping.factories import CART, WISHLIST


async def test_the_demo_player_has_wishes_and_a_cart(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    for runtime in platform.runtimes.values():  # in start order: users, catalog, ... shopping
        await runtime.seed_demo()
    await platform.runtimes["shopping"].seed_demo()  # a second start adds nothing
    tokens = (
        await client.post(
            "/api/v1/users/login", json={"login": "demo", "password": "play-lugx-2026"}
        )
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    cart = (await client.get(CART, headers=headers)).json()
    assert len(cart["items"]) == 1
    assert cart["total"]["amount"] == cart["items"][0]["final_price"]["amount"]
    wishes = (await client.get(f"{WISHLIST}/items", headers=headers)).json()["items"]
    assert len(wishes) == 4
    assert all(item["final_price"] is not None for item in wishes)
    settings = (await client.get(WISHLIST, headers=headers)).json()
    public = await client.get(f"/api/v1/shopping/users/{settings['user_id']}/wishlist")
    assert [i["app_id"] for i in public.json()["items"]] == [i["app_id"] for i in wishes]
