"""Public profiles honour visibility; roles are for admins to give."""

from __future__ import annotations

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from lugx.services.users.admin import create_admin
from tests.users.factories import PASSWORD, login, signed_up


async def test_public_profile_by_uuid_or_account_id(client: httpx.AsyncClient) -> None:
    owner = await signed_up(client, "odessa")
    await client.patch("/api/v1/users/me", json={"bio": "Cubbage"}, headers=owner.headers)
    for ref in (owner.id, str(owner.user["account_id"])):
        body = (await client.get(f"/api/v1/users/{ref}")).json()
        assert body["username"] == "odessa"
        assert body["bio"] == "Cubbage"
        assert body["is_private"] is False
        assert "email" not in body


@pytest.mark.parametrize("visibility", ["private", "friends"])
async def test_hidden_profiles_show_only_who_it_is(
    client: httpx.AsyncClient, visibility: str
) -> None:
    owner = await signed_up(client)
    stranger = await signed_up(client)
    await client.patch(
        "/api/v1/users/me",
        json={"bio": "secret plans", "country": "US", "profile_visibility": visibility},
        headers=owner.headers,
    )
    for headers in ({}, stranger.headers):
        body = (await client.get(f"/api/v1/users/{owner.id}", headers=headers)).json()
        assert body["is_private"] is True
        assert body["bio"] is None
        assert body["country"] is None
    own = (await client.get(f"/api/v1/users/{owner.id}", headers=owner.headers)).json()
    assert own["bio"] == "secret plans"


@pytest.mark.parametrize("ref", ["00000000-0000-0000-0000-000000000000", "999999", "nonsense"])
async def test_unknown_users_are_404(client: httpx.AsyncClient, ref: str) -> None:
    response = await client.get(f"/api/v1/users/{ref}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_only_admins_set_roles(client: httpx.AsyncClient, platform: Platform) -> None:
    player = await signed_up(client)
    mallory = await signed_up(client)
    refused = await client.put(
        f"/api/v1/users/{player.id}/roles", json={"roles": ["publisher"]}, headers=mallory.headers
    )
    assert refused.status_code == 403
    await create_admin(
        platform.runtimes["users"].ctx,
        username="gman",
        email="gman@example.com",
        password=PASSWORD,
    )
    admin = await login(client, "gman")
    headers = {"Authorization": f"Bearer {admin['access_token']}"}
    granted = await client.put(
        f"/api/v1/users/{player.id}/roles", json={"roles": ["publisher"]}, headers=headers
    )
    assert granted.status_code == 200
    assert granted.json()["roles"] == ["player", "publisher"]
    bad = await client.put(
        f"/api/v1/users/{player.id}/roles", json={"roles": ["god"]}, headers=headers
    )
    assert bad.status_code == 422
    me = (await client.get("/api/v1/users/me", headers=player.headers)).json()
    assert me["roles"] == ["player", "publisher"]


async def test_taking_a_role_away_signs_the_user_out(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    player = await signed_up(client)
    ctx = platform.runtimes["users"].ctx
    from lugx.services.users.admin import grant_role as grant

    await grant(ctx, player.user["username"], "publisher")
    promoted = await login(client, player.user["username"])
    headers = {"Authorization": f"Bearer {promoted['access_token']}"}
    await create_admin(ctx, username="wallace", email="wallace@example.com", password=PASSWORD)
    admin = await login(client, "wallace")
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    demoted = await client.put(
        f"/api/v1/users/{player.id}/roles", json={"roles": ["player"]}, headers=admin_headers
    )
    assert demoted.status_code == 200
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": promoted["refresh_token"]}
    )
    assert refresh.status_code == 401


@pytest.mark.parametrize("ref", ["²", "١٢٣", "1" * 40])
async def test_odd_references_are_404_not_500(client: httpx.AsyncClient, ref: str) -> None:
    response = await client.get(f"/api/v1/users/{ref}")
    assert response.status_code in (404, 422)


async def test_profiles_are_found_by_username_too(client: httpx.AsyncClient) -> None:
    owner = await signed_up(client, "Lamarr")
    body = (await client.get("/api/v1/users/lamarr")).json()
    assert body["id"] == owner.id


async def test_all_digit_usernames_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users/register",
        json={"username": "12345", "email": "n@example.com", "password": PASSWORD},
    )
    assert response.status_code == 422
