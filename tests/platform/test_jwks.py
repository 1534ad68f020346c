"""Fetching the users service's keys in the distributed wiring."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lugx.platform.auth import JwksKeySource, SigningKey
from lugx.platform.errors import ServiceUnavailable


class FakeUsers:
    """The users service's JWKS endpoint, which can be down or serve junk."""

    def __init__(self) -> None:
        self.key = SigningKey(Ed25519PrivateKey.generate(), "k1")
        self.mode = "up"
        self.calls = 0

    async def jwks(self, _request: Request) -> Response:
        self.calls += 1
        if self.mode == "down":
            return Response(status_code=503)
        if self.mode == "junk":
            return JSONResponse({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "x", "x": "!"}]})
        return JSONResponse({"keys": [self.key.jwk()]})

    def source(self, **kwargs: float) -> JwksKeySource:
        app = Starlette(routes=[Route("/.well-known/jwks.json", self.jwks)])
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://u")
        return JwksKeySource("http://u/.well-known/jwks.json", client=client, **kwargs)


async def test_keys_are_fetched_once_and_reused() -> None:
    users = FakeUsers()
    source = users.source()
    assert await source.get("k1") is not None
    assert await source.get("k1") is not None
    assert users.calls == 1


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    users = FakeUsers()
    source = users.source(min_refresh_seconds=60)
    for n in range(20):
        assert await source.get(f"junk-{n}") is None
    assert users.calls == 1


async def test_an_unreachable_users_service_is_503_then_recovers() -> None:
    users = FakeUsers()
    users.mode = "down"
    source = users.source(retry_seconds=0)
    with pytest.raises(ServiceUnavailable):
        await source.get("k1")
    users.mode = "up"
    assert await source.get("k1") is not None


async def test_junk_keys_are_skipped_not_fatal() -> None:
    users = FakeUsers()
    users.mode = "junk"
    source = users.source()
    assert await source.get("x") is None
