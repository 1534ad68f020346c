"""Registration and signing in, through the gateway, with the database checked underneath."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from lugx.platform.bootstrap import Platform
from lugx.services.users.models import EVENTS, User
from tests.conftest import database_of
from tests.users.factories import PASSWORD, auth, login, register


async def count_users(platform: Platform) -> int:
    async with database_of(platform, "users").session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(User))).scalar_one())


async def test_register_returns_the_user_without_secrets(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    response = await client.post(
        "/api/v1/users/register",
        json={"username": "Gordon", "email": "Gordon@Example.com", "password": PASSWORD},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "Gordon"
    assert body["email"] == "Gordon@example.com"  # domain normalised, local part kept
    assert isinstance(body["account_id"], int)
    assert body["account_id"] > 0
    assert body["roles"] == ["player"]
    assert body["email_verified"] is False
    assert "password" not in response.text
    assert "argon2" not in response.text
    async with database_of(platform, "users").session(write=False) as session:
        user = (await session.execute(select(User))).scalar_one()
        assert user.password_hash.startswith("$argon2id$")
        types = [row.type for row in (await session.execute(select(EVENTS.outbox))).all()]
    assert "UserRegistered" in types
    assert "EmailVerificationRequested" in types


async def test_account_ids_are_distinct_integers(client: httpx.AsyncClient) -> None:
    first = await register(client)
    second = await register(client)
    assert second["account_id"] != first["account_id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "gordon"), ("username", "GORDON"), ("email", "GORDON@example.com")],
)
async def test_duplicate_username_or_email_is_a_conflict(
    client: httpx.AsyncClient, platform: Platform, field: str, value: str
) -> None:
    await register(client, "gordon")
    body = {"username": "freeman", "email": "freeman@example.com", "password": PASSWORD}
    body[field] = value
    response = await client.post("/api/v1/users/register", json=body)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 409
    assert await count_users(platform) == 1


@pytest.mark.parametrize(
    "password",
    ["short1!", "aaaaaaaaaaaa", "password123", "alyxvance-is-great", "x" * 300],
)
async def test_weak_passwords_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, platform: Platform, password: str
) -> None:
    response = await client.post(
        "/api/v1/users/register",
        json={"username": "alyxvance", "email": "alyx@example.com", "password": password},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "password"
    assert await count_users(platform) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "email": "a@example.com", "password": PASSWORD},
        {"username": "bad name", "email": "a@example.com", "password": PASSWORD},
        {"username": "<script>", "email": "a@example.com", "password": PASSWORD},
        {"username": "valid", "email": "not-an-email", "password": PASSWORD},
        {"username": "valid", "email": "a@example.com"},
        {"username": "valid", "email": "a@example.com", "password": PASSWORD, "roles": ["admin"]},
    ],
)
async def test_malformed_registrations_are_422(
    client: httpx.AsyncClient, platform: Platform, body: dict[str, object]
) -> None:
    response = await client.post("/api/v1/users/register", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]
    assert await count_users(platform) == 0


async def test_reserved_usernames_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users/register",
        json={"username": "Admin", "email": "a@example.com", "password": PASSWORD},
    )
    assert response.status_code == 409


async def test_login_with_username_or_email(client: httpx.AsyncClient) -> None:
    user = await register(client, "barney")
    for name in ("barney", "BARNEY", "barney@example.com"):
        tokens = await login(client, name)
        assert tokens["token_type"] == "bearer"
        assert tokens["expires_in"] > 0
        me = await client.get("/api/v1/users/me", headers=auth(tokens["access_token"]))
        assert me.status_code == 200
        assert me.json()["id"] == user["id"]


@pytest.mark.parametrize(
    ("login_name", "password"), [("barney", "wrong password!"), ("nobody", PASSWORD)]
)
async def test_wrong_password_or_unknown_user_is_401_and_says_the_same(
    client: httpx.AsyncClient, login_name: str, password: str
) -> None:
    await register(client, "barney")
    response = await client.post(
        "/api/v1/users/login", json={"login": login_name, "password": password}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username, e-mail or password"


async def test_repeated_failed_logins_are_refused_with_429(
    client: httpx.AsyncClient, settings: object
) -> None:
    await register(client, "kleiner")
    statuses = []
    for _ in range(12):
        response = await client.post(
            "/api/v1/users/login", json={"login": "kleiner", "password": "not the password"}
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(response.headers["retry-after"]) > 0
    # Even the right password is refused while the account is locked.
    right = await client.post(
        "/api/v1/users/login", json={"login": "kleiner", "password": PASSWORD}
    )
    assert right.status_code == 429


async def test_login_records_the_device(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tokens = await login(client, user["username"], device_name="Steam Deck")
    sessions = await client.get("/api/v1/users/me/sessions", headers=auth(tokens["access_token"]))
    [only] = sessions.json()["items"]
    assert only["device_name"] == "Steam Deck"
    assert only["current"] is True
    assert only["ip_address"] == "203.0.113.7"
