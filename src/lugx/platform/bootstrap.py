"""The one place that chooses adapters (cosmicpython's bootstrap): cache, event transport, token
keys, service clients. Services receive what is chosen here and never import an adapter.

- `Wiring`: the adapters one process shares.
- `Platform`: the embedded wiring, every service in one process behind the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from lugx.platform.auth import (
    JwksKeySource,
    KeySource,
    SigningKey,
    StaticKeySource,
    TokenVerifier,
    load_secret_key,
    load_signing_key,
)
from lugx.platform.auth.keys import previous_public_keys
from lugx.platform.auth.service_calls import ServiceTokens
from lugx.platform.cache import Cache, MemoryCache, make_cache
from lugx.platform.clients import Clients
from lugx.platform.events import EventBus, Transport, make_transport, start_buses, stop_buses
from lugx.platform.service import ServiceRuntime, ServiceSpec
from lugx.platform.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class Wiring:
    settings: Settings
    cache: Cache
    transport: Transport
    tokens: TokenVerifier
    clients: Clients
    secret_key: bytes
    service_tokens: ServiceTokens
    signing_key: SigningKey | None

    async def close(self) -> None:
        """Release the shared clients and cache (the transport is stopped by `stop_buses`)."""
        await self.clients.aclose()
        await self.cache.close()


def build_wiring(settings: Settings, *, holds_signing_key: bool) -> Wiring:
    """`holds_signing_key`: this process runs the users service (or all services), so it signs
    tokens and verifies them with its own key; other processes fetch the users service's JWKS."""
    cache = make_cache(settings.redis_url, prefix=settings.cache_prefix)
    signing_key = load_signing_key(settings) if holds_signing_key else None
    keys: KeySource = (
        StaticKeySource({**previous_public_keys(settings), signing_key.kid: signing_key.public_key})
        if signing_key is not None
        else JwksKeySource(settings.resolved_jwks_url())
    )
    # Revoked sessions must never be evicted to make room for cached pages: in memory they get
    # a store of their own; Redis keeps both (and is what spreads revocations across processes).
    secret_key = load_secret_key(settings)
    revocations = cache if settings.redis_url else MemoryCache(max_entries=None)
    return Wiring(
        settings=settings,
        cache=cache,
        transport=make_transport(settings.broker_url, namespace=settings.event_namespace),
        tokens=TokenVerifier(keys, issuer=settings.jwt_issuer, revocations=revocations),
        clients=Clients(settings),
        secret_key=secret_key,
        service_tokens=ServiceTokens(secret_key),
        signing_key=signing_key,
    )


class Platform:
    """Every service in one process. Calls between them stay in-process through their clients."""

    def __init__(
        self, settings: Settings, specs: Iterable[ServiceSpec], *, holds_signing_key: bool = True
    ) -> None:
        self.settings = settings
        self.wiring = build_wiring(settings, holds_signing_key=holds_signing_key)
        self.runtimes: dict[str, ServiceRuntime] = {}
        self._halted = False
        for spec in specs:
            runtime = ServiceRuntime(spec, self.wiring)
            self.runtimes[spec.name] = runtime
            self.wiring.clients.mount(spec.name, runtime.app, runtime.ctx)

    @property
    def buses(self) -> list[EventBus]:
        return [runtime.ctx.events for runtime in self.runtimes.values()]

    async def start(self, *, migrate: bool = True, seed: bool = False) -> None:
        self._halted = False
        for runtime in self.runtimes.values():
            await runtime.prepare(migrate=migrate, seed=seed)
        await start_buses(self.wiring.transport, self.buses)
        for runtime in self.runtimes.values():
            runtime.start_background()

    async def stop(self) -> None:
        await self.halt()
        await self.close()

    async def halt(self) -> None:
        """Stop every relay, consumer and background task; databases stay open. Idempotent."""
        if self._halted:
            return
        self._halted = True
        for runtime in self.runtimes.values():
            await runtime.stop_background()
        await stop_buses(self.wiring.transport, self.buses)

    async def close(self) -> None:
        for runtime in reversed(list(self.runtimes.values())):
            await runtime.close()
        await self.wiring.close()
