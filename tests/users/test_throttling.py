"""Failed sign-ins are slowed, then refused; parallel guessing gains nothing; a throttled
sign-in never holds up anyone else."""

from __future__ import annotations

import asyncio

import httpx

from lugx.platform.bootstrap import Platform
from tests.users.factories import PASSWORD, register, signed_up


async def wrong_login(client: httpx.AsyncClient, name: str) -> int:
    response = await client.post(
        "/api/v1/users/login", json={"login": name, "password": "definitely wrong"}
    )
    return response.status_code


async def test_thirty_parallel_guesses_get_ten_tries(client: httpx.AsyncClient) -> None:
    await register(client, "vortigaunt")
    statuses = await asyncio.gather(*(wrong_login(client, "vortigaunt") for _ in range(30)))
    assert sorted(statuses) == [401] * 10 + [429] * 20


async def test_username_and_email_share_one_allowance(client: httpx.AsyncClient) -> None:
    await register(client, "grigori")
    first = [await wrong_login(client, "grigori") for _ in range(5)]
    second = [await wrong_login(client, "GRIGORI@example.com") for _ in range(5)]
    assert first + second == [401] * 10
    assert await wrong_login(client, "grigori") == 429


async def test_a_success_resets_the_count(client: httpx.AsyncClient) -> None:
    await register(client, "mossman")
    for _ in range(9):
        assert await wrong_login(client, "mossman") == 401
    ok = await client.post("/api/v1/users/login", json={"login": "mossman", "password": PASSWORD})
    assert ok.status_code == 200
    assert [await wrong_login(client, "mossman") for _ in range(10)] == [401] * 10


async def test_one_address_guessing_many_accounts_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """Each account is under its own limit, but the address has failed 50 times."""
    statuses = [await wrong_login(client, f"nobody{n}") for n in range(51)]
    assert statuses[:50] == [401] * 50
    assert statuses[50] == 429


async def test_a_slowed_sign_in_does_not_hold_up_registration(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    settings = platform.runtimes["users"].ctx.settings
    settings.login_slowdown_after = 1
    settings.login_slowdown_seconds = 2.0
    await register(client, "breen")
    assert await wrong_login(client, "breen") == 401
    slowed = asyncio.create_task(wrong_login(client, "breen"))  # waits 2 s before checking
    await asyncio.sleep(0.05)
    await register(client)  # a writer of the same service, meanwhile
    assert not slowed.done()
    assert await slowed == 401


async def test_guessing_the_current_password_is_throttled(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    statuses = []
    for _ in range(11):
        response = await client.post(
            "/api/v1/users/me/password",
            json={"current_password": "a wrong guess", "new_password": "a brand new passphrase"},
            headers=account.headers,
        )
        statuses.append(response.status_code)
    assert statuses == [403] * 10 + [429]
