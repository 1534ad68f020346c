"""The edge rules: token check, rate limits, body size, CORS and whom to believe about the
client's address. A refused request must never reach a service."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lugx.gateway import create_gateway
from lugx.platform.auth import TokenIssuer
from lugx.platform.bootstrap import Wiring, build_wiring
from lugx.platform.net import ClientAddress
from lugx.platform.settings import Settings
from tests.gateway.conftest import ORIGIN, Calls, client_for, echo_app, issue, problem_of

# -- tokens ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "lugx",
        "aud": "lugx",
        "sub": str(uuid.uuid4()),
        "aid": 1,
        "roles": ["admin"],
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return claims


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def alg_none(kid: str) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


def foreign_key(kid: str) -> str:
    return jwt.encode(
        _claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
    )


def hmac_confusion(kid: str) -> str:
    return jwt.encode(_claims(), "x" * 32, algorithm="HS256", headers={"kid": kid})


@pytest.fixture
def bad_tokens(issuer: TokenIssuer, wiring: Wiring, settings: Settings) -> dict[str, str]:
    assert wiring.signing_key is not None
    kid = wiring.signing_key.kid
    expired = TokenIssuer(wiring.signing_key, issuer=settings.jwt_issuer, ttl_seconds=-60)
    other_issuer = TokenIssuer(wiring.signing_key, issuer="someone-else", ttl_seconds=300)
    return {
        "garbage": "Bearer not-a-jwt",
        "empty bearer": "Bearer ",
        "basic scheme": "Basic dXNlcjpwYXNz",
        "tampered": f"Bearer {tampered(issue(issuer))}",
        "expired": f"Bearer {issue(expired)}",
        "alg none": f"Bearer {alg_none(kid)}",
        "unknown kid": f"Bearer {foreign_key('somebody-elses-key')}",
        "known kid, foreign key": f"Bearer {foreign_key(kid)}",
        "hmac confusion": f"Bearer {hmac_confusion(kid)}",
        "other issuer": f"Bearer {issue(other_issuer)}",
    }


async def test_a_valid_token_passes_to_the_service(
    client: httpx.AsyncClient, issuer: TokenIssuer
) -> None:
    user_id = uuid.uuid4()
    response = await client.get(
        "/api/v1/echo/me", headers={"authorization": f"Bearer {issue(issuer, user_id=user_id)}"}
    )
    assert response.status_code == 200
    assert response.json() == {"user_id": str(user_id)}


async def test_bad_tokens_are_refused_at_the_gateway(
    client: httpx.AsyncClient, calls: Calls, bad_tokens: dict[str, str]
) -> None:
    for case, authorization in bad_tokens.items():
        # Even on an endpoint that does not need a token: a bad one is never passed on.
        response = await client.get(
            "/api/v1/echo/headers", headers={"authorization": authorization}
        )
        assert response.status_code == 401, case
        problem = problem_of(response)
        assert response.headers["www-authenticate"] == 'Bearer realm="lugx"', case
        assert problem["detail"], case
    assert calls.count == 0


async def test_an_expired_token_says_so(
    client: httpx.AsyncClient, bad_tokens: dict[str, str]
) -> None:
    response = await client.get("/api/v1/echo/me", headers={"authorization": bad_tokens["expired"]})
    assert response.status_code == 401
    assert problem_of(response)["type"].endswith("/token-expired")


async def test_a_signed_out_session_is_refused(
    client: httpx.AsyncClient, wiring: Wiring, settings: Settings, calls: Calls
) -> None:
    assert wiring.signing_key is not None
    session_id = uuid.uuid4()
    token = TokenIssuer(wiring.signing_key, issuer=settings.jwt_issuer, ttl_seconds=300).issue(
        user_id=uuid.uuid4(), account_id=1, roles=["player"], session_id=session_id
    )
    headers = {"authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/echo/me", headers=headers)).status_code == 200
    await wiring.tokens.revoke_session(session_id, ttl_seconds=300)
    before = calls.count
    response = await client.get("/api/v1/echo/me", headers=headers)
    assert response.status_code == 401
    assert calls.count == before


async def test_no_token_is_the_services_business(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/echo/headers")).status_code == 200
    response = await client.get("/api/v1/echo/me")
    assert response.status_code == 401  # the service's own rule, still a problem document
    problem_of(response)


# -- rate limits -----------------------------------------------------------------------------


async def limited_gateway(settings: Settings) -> tuple[Any, Wiring, Calls]:
    wiring = build_wiring(settings, holds_signing_key=True)
    calls = Calls()
    return create_gateway(wiring, {"echo": echo_app(wiring, calls)}), wiring, calls


async def test_over_the_limit_is_429_with_retry_after(
    settings_factory: Callable[..., Settings],
) -> None:
    gateway, wiring, calls = await limited_gateway(settings_factory(rate_limit_per_minute=3))
    async with client_for(gateway) as http:
        remaining = []
        for _ in range(3):
            response = await http.get("/api/v1/echo/headers")
            assert response.status_code == 200
            assert response.headers["ratelimit-limit"] == "3"
            remaining.append(response.headers["ratelimit-remaining"])
        assert remaining == ["2", "1", "0"]
        refused = await http.get("/api/v1/echo/headers")
    await wiring.close()
    assert refused.status_code == 429
    assert problem_of(refused)["type"].endswith("/too-many-requests")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["x-request-id"]
    assert calls.count == 3


async def test_limits_are_per_user_when_signed_in_and_per_address_otherwise(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(rate_limit_per_minute=2)
    gateway, wiring, _calls = await limited_gateway(settings)
    assert wiring.signing_key is not None
    issuer = TokenIssuer(wiring.signing_key, issuer=settings.jwt_issuer, ttl_seconds=300)
    alice = {"authorization": f"Bearer {issue(issuer)}"}
    bob = {"authorization": f"Bearer {issue(issuer)}"}
    async with client_for(gateway, ip="198.51.100.1") as same_address:
        for _ in range(2):
            assert (await same_address.get("/api/v1/echo/headers")).status_code == 200
        assert (await same_address.get("/api/v1/echo/headers")).status_code == 429
        # Signed-in users behind the same address have their own allowance.
        for _ in range(2):
            assert (await same_address.get("/api/v1/echo/me", headers=alice)).status_code == 200
        assert (await same_address.get("/api/v1/echo/me", headers=alice)).status_code == 429
        assert (await same_address.get("/api/v1/echo/me", headers=bob)).status_code == 200
    async with client_for(gateway, ip="198.51.100.2") as other_address:
        assert (await other_address.get("/api/v1/echo/headers")).status_code == 200
    await wiring.close()


async def test_failed_token_checks_count_against_the_address(
    settings_factory: Callable[..., Settings],
) -> None:
    gateway, wiring, _calls = await limited_gateway(settings_factory(rate_limit_per_minute=2))
    guess = {"authorization": "Bearer guessed.token.value"}
    async with client_for(gateway) as http:
        assert (await http.get("/api/v1/echo/me", headers=guess)).status_code == 401
        assert (await http.get("/api/v1/echo/me", headers=guess)).status_code == 401
        assert (await http.get("/api/v1/echo/me", headers=guess)).status_code == 429
    await wiring.close()


async def test_probes_are_never_rate_limited(settings_factory: Callable[..., Settings]) -> None:
    gateway, wiring, _calls = await limited_gateway(settings_factory(rate_limit_per_minute=1))
    async with client_for(gateway) as http:
        for _ in range(5):
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 200
    await wiring.close()


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    settings_factory: Callable[..., Settings],
) -> None:
    # trusted_proxies is 10.0.0.0/8 in these tests.
    gateway, wiring, _calls = await limited_gateway(settings_factory(rate_limit_per_minute=1))

    async def status(peer: str, forwarded: str) -> int:
        async with client_for(gateway, ip=peer) as http:
            response = await http.get(
                "/api/v1/echo/headers", headers={"x-forwarded-for": forwarded}
            )
            return response.status_code

    # Behind the proxy: each real client has its own allowance...
    assert await status("10.1.2.3", "192.0.2.10") == 200
    assert await status("10.1.2.3", "192.0.2.11") == 200
    assert await status("10.1.2.3", "192.0.2.10") == 429
    # ...and a spoofed hop to the left of the real client changes nothing.
    assert await status("10.1.2.3", "1.2.3.4, 192.0.2.11") == 429
    # A client talking to us directly cannot pick its address.
    assert await status("203.0.113.50", "192.0.2.99") == 200
    assert await status("203.0.113.50", "192.0.2.98") == 429
    await wiring.close()


# -- body size -------------------------------------------------------------------------------


async def test_a_declared_body_over_the_limit_is_413_at_once(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    response = await client.post("/api/v1/echo/body", content=b"x" * 2000)
    assert response.status_code == 413
    assert problem_of(response)["type"].endswith("/payload-too-large")
    assert calls.count == 0


async def test_a_chunked_body_that_grows_over_the_limit_is_413(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 200

    response = await client.post("/api/v1/echo/body", content=chunks())
    assert response.status_code == 413
    problem_of(response)
    assert calls.count == 0


async def test_bodies_within_the_limit_arrive_whole(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"z" * 256

    assert (await client.post("/api/v1/echo/body", content=b"x" * 1024)).json() == {"size": 1024}
    assert (await client.post("/api/v1/echo/body", content=chunks())).json() == {"size": 1024}


async def test_a_malformed_content_length_is_400(client: httpx.AsyncClient, calls: Calls) -> None:
    response = await client.post(
        "/api/v1/echo/body", content=b"abc", headers={"content-length": "3x"}
    )
    assert response.status_code == 400
    problem_of(response)
    assert calls.count == 0


# -- CORS ------------------------------------------------------------------------------------


async def test_cors_preflight_for_an_allowed_origin(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    response = await client.options(
        "/api/v1/echo/items",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert calls.count == 0


async def test_cors_preflight_for_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/v1/echo/items",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_cors_headers_on_real_responses_and_refusals(client: httpx.AsyncClient) -> None:
    ok = await client.get("/api/v1/echo/headers", headers={"origin": ORIGIN})
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in ok.headers["access-control-expose-headers"]
    refused = await client.get(
        "/api/v1/echo/me", headers={"origin": ORIGIN, "authorization": "Bearer bad"}
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN  # the browser may read it
    other = await client.get("/api/v1/echo/headers", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_no_cors_without_configured_origins(
    settings_factory: Callable[..., Settings],
) -> None:
    gateway, wiring, _calls = await limited_gateway(settings_factory(cors_origins=[]))
    async with client_for(gateway) as http:
        response = await http.get("/api/v1/echo/headers", headers={"origin": ORIGIN})
    await wiring.close()
    assert "access-control-allow-origin" not in response.headers


def test_client_address_rules() -> None:
    address = ClientAddress(["10.0.0.0/8", "::1"])

    def scope(peer: str, *forwarded: str, proto: str | None = None) -> dict[str, Any]:
        headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
        if proto:
            headers.append((b"x-forwarded-proto", proto.encode()))
        return {"client": (peer, 1), "headers": headers, "scheme": "http"}

    assert address(scope("203.0.113.5", "1.1.1.1")) == "203.0.113.5"
    assert address(scope("10.0.0.1", "1.1.1.1, 192.0.2.7")) == "192.0.2.7"
    assert address(scope("10.0.0.1", "1.1.1.1", "192.0.2.7, 10.0.0.9")) == "192.0.2.7"
    assert address(scope("10.0.0.1")) == "10.0.0.1"
    assert address(scope("::1", "2001:db8::5")) == "2001:db8::5"
    assert address(scope("10.0.0.1", "10.1.1.1, 10.2.2.2")) == "10.1.1.1"

    assert address.forwarded_for(scope("203.0.113.5", "1.1.1.1")) == "203.0.113.5"
    assert address.forwarded_for(scope("10.0.0.1", "192.0.2.7")) == "192.0.2.7, 10.0.0.1"
    assert address.forwarded_proto(scope("10.0.0.1", proto="https")) == "https"
    assert address.forwarded_proto(scope("203.0.113.5", proto="https")) == "http"
    assert address.forwarded_proto(scope("10.0.0.1", proto="gopher")) == "http"
