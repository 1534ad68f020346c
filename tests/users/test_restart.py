"""What the quick start promises across restarts."""

from __future__ import annotations

from pathlib import Path

import httpx

from lugx.platform.bootstrap import Platform
from lugx.platform.settings import Settings
from lugx.services import available
from tests.users.factories import signed_up


async def test_a_signed_out_session_stays_out_after_a_restart(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await signed_up(client)
    assert (await client.post("/api/v1/users/logout", headers=account.headers)).status_code == 204
    restarted = Platform(settings, available())  # a fresh process: nothing in memory
    await restarted.start(migrate=False)
    try:
        transport = httpx.ASGITransport(app=restarted.runtimes["users"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://users") as users:
            me = await users.get("/api/v1/users/me", headers=account.headers)
        assert me.status_code == 401
    finally:
        await restarted.stop()


async def test_demo_accounts_named_in_the_readme_can_sign_in(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await platform.runtimes["users"].seed_demo()
    await platform.runtimes["users"].seed_demo()  # a second start changes nothing
    for login, password in (
        ("demo", "play-lugx-2026"),
        ("studio", "publish-lugx-2026"),
        ("operator", "admin-lugx-2026"),
    ):
        response = await client.post(
            "/api/v1/users/login", json={"login": login, "password": password}
        )
        assert response.status_code == 200, login
    readme = Path("README.md").read_text(encoding="utf-8")
    for password in ("play-lugx-2026", "publish-lugx-2026", "admin-lugx-2026"):
        assert password in readme
