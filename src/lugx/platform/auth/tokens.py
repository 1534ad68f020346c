"""Access tokens: issued by the users service, verified locally by every service and the gateway.

Only EdDSA is accepted, only with a known key id: `alg: none`, HMAC confusion and foreign keys are
refused before any claim is read. Verified tokens are remembered until they expire, so a hot path
pays for the signature check once per token, not once per request. Revoked sessions are checked on
every request through the shared cache, so logout takes effect at once, not at token expiry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from lugx.platform.auth.keys import SigningKey
from lugx.platform.auth.principal import Principal
from lugx.platform.cache import Cache
from lugx.platform.errors import ServiceUnavailable, Unauthorized

ALGORITHM = "EdDSA"
AUDIENCE = "lugx"
_VERIFIED_CACHE_MAX = 50_000

log = structlog.get_logger(__name__)


class TokenIssuer:
    def __init__(self, key: SigningKey, *, issuer: str, ttl_seconds: int) -> None:
        self._key = key
        self._issuer = issuer
        self.ttl_seconds = ttl_seconds

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        account_id: int,
        roles: Sequence[str],
        session_id: uuid.UUID | None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "aid": account_id,
            "roles": sorted(roles),
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        return jwt.encode(
            claims, self._key.private_key, algorithm=ALGORITHM, headers={"kid": self._key.kid}
        )


class KeySource(Protocol):
    async def get(self, kid: str) -> Ed25519PublicKey | None: ...


class StaticKeySource:
    """Keys known in-process (embedded wiring, tests): the users service's own public key(s)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self._keys = keys

    @classmethod
    def of(cls, *signing_keys: SigningKey) -> StaticKeySource:
        return cls({k.kid: k.public_key for k in signing_keys})

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)


class JwksKeySource:
    """Distributed wiring: the users service's public keys, fetched from its JWKS.

    An unknown kid (a key rotation) triggers a refetch, at most once per `min_refresh_seconds`
    after a successful fetch, so junk kids cannot flood the users service; concurrent requests
    share one fetch. While no key set could be fetched at all, verification answers 503 (the
    users service is unreachable), never 401: the caller's token may be perfectly good.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        min_refresh_seconds: float = 30,
        retry_seconds: float = 1,
    ) -> None:
        self._url = url
        self._client = client
        self._keys: dict[str, Ed25519PublicKey] | None = None
        self._next_refresh = 0.0
        self._min_refresh = min_refresh_seconds
        self._retry = retry_seconds
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        keys = self._keys
        if (keys is None or kid not in keys) and time.monotonic() >= self._next_refresh:
            async with self._lock:  # one fetch at a time; late arrivals reuse its result
                if time.monotonic() >= self._next_refresh:
                    await self._refresh()
            keys = self._keys
        if keys is None:
            raise ServiceUnavailable("The keys that verify tokens cannot be fetched right now")
        return keys.get(kid)

    async def _refresh(self) -> None:
        try:
            client = self._client or httpx.AsyncClient(timeout=5)
            try:
                response = await client.get(self._url)
                response.raise_for_status()
                keys = _parse_jwks(response.json())
            finally:
                if self._client is None:
                    await client.aclose()
        except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            log.warning("jwks fetch failed", url=self._url, error=str(exc))
            self._next_refresh = time.monotonic() + self._retry
            return
        self._keys = keys
        self._next_refresh = time.monotonic() + self._min_refresh


def _parse_jwks(document: object) -> dict[str, Ed25519PublicKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not jwk.get("kid"):
            continue
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            try:
                public = OKPAlgorithm.from_jwk(jwk)
            except (jwt.PyJWTError, ValueError, TypeError):
                continue
            if isinstance(public, Ed25519PublicKey):
                keys[str(jwk["kid"])] = public
    return keys


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, revocations: Cache) -> None:
        self._keys = keys
        self._issuer = issuer
        self._revocations = revocations
        self._verified: dict[str, Principal] = {}

    async def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is None or principal.expires_at <= time.time():
            principal = await self._verify_signature(token)
        if principal.session_id is not None and await self.is_session_revoked(principal.session_id):
            raise Unauthorized("This session has been signed out", code="token-revoked")
        return principal

    async def _verify_signature(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Malformed access token") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("Unsupported token algorithm")
        kid = header.get("kid")
        key = await self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("Token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            principal = Principal(
                user_id=uuid.UUID(claims["sub"]),
                account_id=int(claims["aid"]),
                roles=frozenset(claims.get("roles", ())),
                session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
                expires_at=float(claims["exp"]),
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired", code="token-expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("Invalid access token") from exc
        if len(self._verified) >= _VERIFIED_CACHE_MAX:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    async def revoke_session(self, session_id: uuid.UUID, *, ttl_seconds: float) -> None:
        """Refuse every access token of this session until they would have expired anyway."""
        await self._revocations.set(f"revoked-sid:{session_id}", b"1", ttl=ttl_seconds)

    async def is_session_revoked(self, session_id: uuid.UUID) -> bool:
        return await self._revocations.get(f"revoked-sid:{session_id}") is not None
