"""Access tokens and refresh tokens: what is accepted, what is refused, and what a refusal does."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from lugx.platform.auth import SigningKey, TokenIssuer, load_signing_key
from lugx.platform.auth.keys import generate_private_pem, public_pem
from lugx.platform.bootstrap import Platform
from lugx.platform.settings import Settings
from lugx.services import available
from tests.users.factories import auth, login, signed_up


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_jwks_publishes_the_key_that_verifies_tokens(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    [key] = jwks["keys"]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert key["alg"] == "EdDSA"
    assert "d" not in key  # never the private part
    public = jwt.PyJWK(key).key
    claims = jwt.decode(account.access_token, public, algorithms=["EdDSA"], audience="lugx")
    assert claims["sub"] == account.id
    assert claims["aid"] == account.user["account_id"]
    assert jwt.get_unverified_header(account.access_token)["kid"] == key["kid"]


async def test_expired_token_is_refused(client: httpx.AsyncClient, platform: Platform) -> None:
    account = await signed_up(client)
    signing_key = platform.wiring.signing_key
    assert signing_key is not None
    issuer = TokenIssuer(signing_key, issuer="lugx", ttl_seconds=-60)
    expired = issuer.issue(
        user_id=uuid.UUID(account.id), account_id=1, roles=["player"], session_id=None
    )
    response = await client.get("/api/v1/users/me", headers=auth(expired))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("token-expired")


async def test_tampered_token_is_refused(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    header, payload, signature = account.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin", "player"]
    forged = f"{header}.{b64(claims)}.{signature}"
    response = await client.get("/api/v1/users/me", headers=auth(forged))
    assert response.status_code == 401


async def test_alg_none_is_refused(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    kid = jwt.get_unverified_header(account.access_token)["kid"]
    _, payload, _ = account.access_token.split(".")
    # A real key id, so only the algorithm check stands between this and acceptance.
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}."
    response = await client.get("/api/v1/users/me", headers=auth(unsigned))
    assert response.status_code == 401


async def test_hmac_with_the_public_key_is_refused(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    confused = jwt.encode(
        claims, jwks["keys"][0]["x"], algorithm="HS256", headers={"kid": jwks["keys"][0]["kid"]}
    )
    response = await client.get("/api/v1/users/me", headers=auth(confused))
    assert response.status_code == 401


@pytest.mark.parametrize("same_kid", [True, False])
async def test_token_signed_by_an_unknown_key_is_refused(
    client: httpx.AsyncClient, platform: Platform, same_kid: bool
) -> None:
    account = await signed_up(client)
    real = platform.wiring.signing_key
    assert real is not None
    stranger = SigningKey(Ed25519PrivateKey.generate(), real.kid if same_kid else "stranger")
    forged = TokenIssuer(stranger, issuer="lugx", ttl_seconds=600).issue(
        user_id=uuid.UUID(account.id), account_id=1, roles=["admin"], session_id=None
    )
    response = await client.get("/api/v1/users/me", headers=auth(forged))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Token abc"]
)
async def test_malformed_authorization_headers_are_401(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get("/api/v1/users/me", headers={"Authorization": header})
    assert response.status_code == 401


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    response = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != account.refresh_token
    assert pair["session_id"] == account.session_id
    me = await client.get("/api/v1/users/me", headers=auth(pair["access_token"]))
    assert me.status_code == 200


async def test_reused_refresh_token_revokes_the_whole_family(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    first = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": account.refresh_token}
    )
    newest = first.json()
    # The old token comes back (a thief replaying it): refused, and the session is gone...
    reused = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert reused.status_code == 401
    assert reused.json()["type"].endswith("refresh-token-reused")
    # ...so the legitimate newest refresh token and access token stop working too.
    later = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": newest["refresh_token"]}
    )
    assert later.status_code == 401
    me = await client.get("/api/v1/users/me", headers=auth(newest["access_token"]))
    assert me.status_code == 401


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/users/token/refresh", json={"refresh_token": "nope"})
    assert response.status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    response = await client.post("/api/v1/users/logout", headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 401
    again = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert again.status_code == 401


async def test_logout_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/users/logout")).status_code == 401


async def test_access_token_lifetime_is_short(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert 0 < claims["exp"] - time.time() <= 900
    fresh = await login(client, account.user["username"])
    assert fresh["expires_in"] == 900


async def test_rotation_keeps_tokens_of_the_previous_key_valid(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Rotate: the old key becomes a 'previous public key'; its tokens still verify and its
    public half is still published, while new tokens are signed by the new key."""
    old = await signed_up(client)
    old_kid = jwt.get_unverified_header(old.access_token)["kid"]
    old_private = load_signing_key(settings)
    rotated = settings.model_copy(
        update={
            "jwt_private_key": SecretStr(generate_private_pem()),
            "jwt_previous_public_keys": [public_pem(old_private.public_key)],
        }
    )
    platform = Platform(rotated, available())
    await platform.start(migrate=False)
    try:
        transport = httpx.ASGITransport(app=platform.runtimes["users"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://users") as users:
            assert (await users.get("/api/v1/users/me", headers=old.headers)).status_code == 200
            kids = [k["kid"] for k in (await users.get("/.well-known/jwks.json")).json()["keys"]]
            assert old_kid in kids
            assert len(kids) == 2
            fresh = await login(users, old.user["username"])
            assert jwt.get_unverified_header(fresh["access_token"])["kid"] != old_kid
    finally:
        await platform.stop()


async def test_a_stale_access_token_does_not_block_a_refresh(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """Client libraries often send the old Authorization header with every call."""
    account = await signed_up(client)
    signing_key = platform.wiring.signing_key
    assert signing_key is not None
    expired = TokenIssuer(signing_key, issuer="lugx", ttl_seconds=-60).issue(
        user_id=uuid.UUID(account.id), account_id=1, roles=["player"], session_id=None
    )
    response = await client.post(
        "/api/v1/users/token/refresh",
        json={"refresh_token": account.refresh_token},
        headers=auth(expired),
    )
    assert response.status_code == 200
    # Elsewhere the same stale token is still refused, and says why.
    me = await client.get("/api/v1/users/me", headers=auth(expired))
    assert me.status_code == 401
    assert me.json()["type"].endswith("token-expired")
