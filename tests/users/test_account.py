"""The signed-in user's own account: profile, preferences, password, sessions, e-mail."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from lugx.services.users.models import EVENTS, User, UserSession
from tests.conftest import database_of
from tests.users.factories import PASSWORD, auth, login, signed_up


async def test_me_shows_the_private_view(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "eli")
    body = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    assert body["username"] == "eli"
    assert body["email"] == "eli@example.com"
    assert body["profile_visibility"] == "public"


async def test_patch_me_updates_the_profile(client: httpx.AsyncClient, platform: Platform) -> None:
    account = await signed_up(client)
    await client.get("/api/v1/users/me", headers=account.headers)  # warm the cache
    changes = {
        "display_name": "Dr. Vance",
        "avatar_url": "https://cdn.example.com/a.png",
        "bio": "<b>bold</b> claims",
        "country": "se",
        "profile_visibility": "private",
    }
    response = await client.patch("/api/v1/users/me", json=changes, headers=account.headers)
    assert response.status_code == 200
    me = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["display_name"] == "Dr. Vance"
    assert me["country"] == "SE"
    assert me["bio"] == "<b>bold</b> claims"  # stored as given; escaping is the renderer's job
    assert me["profile_visibility"] == "private"
    async with database_of(platform, "users").session(write=False) as session:
        user = (await session.execute(select(User))).scalar_one()
        assert user.display_name == "Dr. Vance"
        events = (await session.execute(select(EVENTS.outbox.c.type))).scalars().all()
    assert "UserProfileUpdated" in events


@pytest.mark.parametrize(
    "changes",
    [
        {"country": "XX"},
        {"avatar_url": "javascript:alert(1)"},
        {"profile_visibility": "everyone"},
        {"display_name": ""},
        {"display_name": None},
        {"bio": "x" * 2001},
        {"roles": ["admin"]},
        {"email": "new@example.com"},
    ],
)
async def test_bad_profile_changes_are_refused_and_change_nothing(
    client: httpx.AsyncClient, changes: dict[str, object]
) -> None:
    account = await signed_up(client)
    before = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    response = await client.patch("/api/v1/users/me", json=changes, headers=account.headers)
    assert response.status_code == 422
    after = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    assert after == before


async def test_preferences_round_trip(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    defaults = (await client.get("/api/v1/users/me/preferences", headers=account.headers)).json()
    assert defaults["currency"] == "USD"
    response = await client.patch(
        "/api/v1/users/me/preferences",
        json={"currency": "EUR", "language": "de", "marketing_emails": True},
        headers=account.headers,
    )
    assert response.status_code == 200
    stored = (await client.get("/api/v1/users/me/preferences", headers=account.headers)).json()
    assert stored["currency"] == "EUR"
    assert stored["language"] == "de"
    assert stored["marketing_emails"] is True
    bad = await client.patch(
        "/api/v1/users/me/preferences", json={"currency": "euro"}, headers=account.headers
    )
    assert bad.status_code == 422


async def test_change_password_revokes_the_other_sessions(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    other = await login(client, account.user["username"], device_name="laptop")
    new_password = "a much better passphrase"
    response = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=account.headers,
    )
    assert response.status_code == 204
    # This device stays signed in; the other one is signed out, tokens and all.
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 200
    other_me = await client.get("/api/v1/users/me", headers=auth(other["access_token"]))
    assert other_me.status_code == 401
    other_refresh = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert other_refresh.status_code == 401
    old = await client.post(
        "/api/v1/users/login", json={"login": account.user["username"], "password": PASSWORD}
    )
    assert old.status_code == 401
    assert (await login(client, account.user["username"], new_password))["access_token"]


@pytest.mark.parametrize(
    ("current", "new", "status"),
    [("wrong password here", "a much better passphrase", 403), (PASSWORD, "short", 422)],
)
async def test_change_password_refusals_change_nothing(
    client: httpx.AsyncClient, current: str, new: str, status: int
) -> None:
    account = await signed_up(client)
    response = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": current, "new_password": new},
        headers=account.headers,
    )
    assert response.status_code == status
    assert (await login(client, account.user["username"]))["access_token"]


async def test_sessions_are_listed_and_revocable(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    account = await signed_up(client)
    laptop = await login(client, account.user["username"], device_name="laptop")
    listed = (await client.get("/api/v1/users/me/sessions", headers=account.headers)).json()
    assert {s["device_name"] for s in listed["items"]} >= {"laptop"}
    assert len(listed["items"]) == 2
    response = await client.delete(
        f"/api/v1/users/me/sessions/{laptop['session_id']}", headers=account.headers
    )
    assert response.status_code == 204
    assert (
        await client.get("/api/v1/users/me", headers=auth(laptop["access_token"]))
    ).status_code == 401
    listed = (await client.get("/api/v1/users/me/sessions", headers=account.headers)).json()
    assert [s["id"] for s in listed["items"]] == [account.session_id]
    async with database_of(platform, "users").session(write=False) as session:
        revoked = await session.get(UserSession, uuid.UUID(laptop["session_id"]))
        assert revoked is not None
        assert revoked.revoked_reason == "revoked-by-user"


async def test_sessions_paginate_with_a_signed_cursor(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    for n in range(4):
        await login(client, account.user["username"], device_name=f"device {n}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/users/me/sessions", params=params, headers=account.headers)
        ).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert len(set(seen)) == 5
    tampered = await client.get(
        "/api/v1/users/me/sessions",
        params={"cursor": "eyJ0IjoiMjAyMCJ9.AAAA"},
        headers=account.headers,
    )
    assert tampered.status_code == 400


async def test_another_users_session_cannot_be_revoked(client: httpx.AsyncClient) -> None:
    alice = await signed_up(client)
    mallory = await signed_up(client)
    response = await client.delete(
        f"/api/v1/users/me/sessions/{alice.session_id}", headers=mallory.headers
    )
    assert response.status_code == 404
    assert (await client.get("/api/v1/users/me", headers=alice.headers)).status_code == 200


async def test_email_verification(client: httpx.AsyncClient, platform: Platform) -> None:
    account = await signed_up(client)
    async with database_of(platform, "users").session(write=False) as session:
        rows = (await session.execute(select(EVENTS.outbox))).all()
    [requested] = [r for r in rows if r.type == "EmailVerificationRequested"]
    token = orjson.loads(requested.payload)["token"]
    bad = await client.post("/api/v1/users/email/verify", json={"token": "forged"})
    assert bad.status_code == 404
    ok = await client.post("/api/v1/users/email/verify", json={"token": token})
    assert ok.status_code == 200
    assert ok.json()["email_verified"] is True
    again = await client.post("/api/v1/users/email/verify", json={"token": token})
    assert again.status_code == 404
    me = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["email_verified"] is True
    resend = await client.post("/api/v1/users/me/email/verification", headers=account.headers)
    assert resend.status_code == 409


async def test_a_cursor_with_foreign_characters_is_400(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    response = await client.get(
        "/api/v1/users/me/sessions", params={"cursor": "abc.dé"}, headers=account.headers
    )
    assert response.status_code == 400
