"""The quick start's demo player has games in their library, and seeding twice changes nothing."""

from __future__ import annotations

import httpx

from lugx.platform.bootstrap import Platform
from tests.purchases.factories import LIBRARY


async def test_the_demo_player_owns_some_games(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    for runtime in platform.runtimes.values():
        await runtime.seed_demo()
    await platform.runtimes["purchases"].seed_demo()
    tokens = (
        await client.post(
            "/api/v1/users/login", json={"login": "demo", "password": "play-lugx-2026"}
        )
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    library = (await client.get(LIBRARY, headers=headers)).json()["items"]
    assert len(library) == 5
    assert {e["source"] for e in library} <= {"purchase", "free"}
    assert sum(e["playtime_minutes"] for e in library) > 0
