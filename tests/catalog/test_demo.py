"""The quick start's store: demo games to browse, and a demo publisher account that can
manage some of them."""

from __future__ import annotations

import httpx

from lugx.platform.bootstrap import Platform


async def test_the_demo_studio_account_manages_a_demo_publisher(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    for runtime in platform.runtimes.values():  # users first: the catalog asks it for `studio`
        await runtime.seed_demo()
    tokens = (
        await client.post(
            "/api/v1/users/login", json={"login": "studio", "password": "publish-lugx-2026"}
        )
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    [publisher] = (await client.get("/api/v1/catalog/publishers/mine", headers=headers)).json()
    games = (await client.get("/api/v1/catalog/publishers/mine/games", headers=headers)).json()
    assert games
    assert all(game["publisher"] == publisher["name"] for game in games)
    renamed = await client.patch(
        f"/api/v1/catalog/games/{games[0]['app_id']}",
        json={"title": "Renamed by the demo studio"},
        headers=headers,
    )
    assert renamed.status_code == 200
    shelf = (await client.get("/api/v1/catalog/shelves/top-sellers")).json()
    assert len(shelf["items"]) == 12
