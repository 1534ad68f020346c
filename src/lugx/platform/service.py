"""What a service is, and how one is put together.

A service package declares a `ServiceSpec` (its name, tables, migrations, routers, the events it
consumes, its demo data). `ServiceRuntime` builds the FastAPI app and its `ServiceContext` from
the process's shared adapters (`Wiring`, see bootstrap.py), and starts and stops it. Every service
gets the same things the same way: problem+json errors, request ids, metrics, /healthz, /readyz.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData

from lugx.platform.db.database import Database
from lugx.platform.db.migrations import upgrade
from lugx.platform.errors import install_error_handlers
from lugx.platform.events import EventBus, EventTables, Handler, start_buses, stop_buses
from lugx.platform.net import ClientAddress
from lugx.platform.observability import ReadinessCheck, RequestContextMiddleware, health_router

if TYPE_CHECKING:
    from lugx.platform.auth import TokenVerifier
    from lugx.platform.auth.service_calls import ServiceTokens
    from lugx.platform.bootstrap import Wiring
    from lugx.platform.cache import Cache
    from lugx.platform.clients import Clients, ServiceClient
    from lugx.platform.settings import Settings

log = structlog.get_logger(__name__)

C = TypeVar("C", bound="ServiceClient")
Hook = Callable[["ServiceContext"], Awaitable[None]]
Loop = Callable[["ServiceContext"], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    metadata: MetaData
    event_tables: EventTables
    migrations_package: str
    routers: Callable[[], Sequence[APIRouter]]
    # The events this service handles, by type; built with the context so a handler can reach
    # the service's cache and clients.
    consumers: Callable[[ServiceContext], Mapping[str, Handler]] | None = None
    # Builds the service's own helpers into ctx.extras when the runtime is made.
    configure: Callable[[ServiceContext], None] | None = None
    on_start: Hook | None = None
    seed_demo: Hook | None = None
    # Long-running loops of the service (e.g. announcing discounts as they start and end):
    # started once events flow, cancelled when the service stops.
    background: Sequence[Loop] = ()
    openapi_tags: Sequence[dict[str, Any]] = ()
    # Name prefixes of tables its migrations create in raw SQL, outside the models (search
    # indexes): the models-versus-migrations check leaves these out.
    raw_tables: Sequence[str] = ()
    # SQLite: the service has reads that can take milliseconds (full-text search); those ask
    # for a long-read session, which runs on threads beside the event loop (Database).
    long_reads: bool = False


@dataclass
class ServiceContext:
    """Everything an endpoint of one service may reach, found at `request.app.state.ctx`."""

    name: str
    settings: Settings
    db: Database
    cache: Cache
    tokens: TokenVerifier
    clients: Clients
    events: EventBus
    secret_key: bytes
    service_tokens: ServiceTokens
    client_address: ClientAddress
    extras: dict[str, Any] = field(default_factory=dict)

    def client(self, client_type: type[C]) -> C:
        """A typed client of another service whose calls carry this service's token."""
        return self.clients.get(
            client_type, service_token=partial(self.service_tokens.issue, self.name)
        )

    def remote(self, *services: str) -> bool:
        """Whether a call to one of these services goes over the network (the distributed
        wiring), and so is worth making side by side with another (`clients.side_by_side`)."""
        return not self.clients.in_process(*services)


class ServiceRuntime:
    def __init__(self, spec: ServiceSpec, wiring: Wiring) -> None:
        settings = wiring.settings
        db = Database(
            settings.database_url(spec.name),
            pool_size=settings.db_pool_size,
            echo=settings.db_echo,
            long_reads=spec.long_reads,
        )
        bus = EventBus(spec.name, db, spec.event_tables, wiring.transport, settings)
        self.spec = spec
        self.ctx = ServiceContext(
            name=spec.name,
            settings=settings,
            db=db,
            cache=wiring.cache,
            tokens=wiring.tokens,
            clients=wiring.clients,
            events=bus,
            secret_key=wiring.secret_key,
            service_tokens=wiring.service_tokens,
            client_address=ClientAddress(settings.trusted_proxies),
            extras={"wiring": wiring},
        )
        if spec.configure is not None:
            spec.configure(self.ctx)
        for event_type, handler in (spec.consumers(self.ctx) if spec.consumers else {}).items():
            bus.register(event_type, handler)
        self._tasks: list[asyncio.Task[None]] = []
        self.app = self._build_app()

    async def migrate(self) -> None:
        await upgrade(self.ctx.db, self.spec.name, self.spec.migrations_package)

    async def seed_demo(self) -> None:
        if self.spec.seed_demo is not None and self.ctx.settings.loads_demo_data:
            await self.spec.seed_demo(self.ctx)

    async def prepare(self, *, migrate: bool = False, seed: bool = False) -> None:
        """Everything before events flow: schema, start-up hook, demo data. The bus (relay and
        consumer) is started with the others by `start_buses`, after the shared transport."""
        if migrate:
            await self.migrate()
        if self.spec.on_start is not None:
            await self.spec.on_start(self.ctx)
        if seed:
            await self.seed_demo()
        log.info("service ready", service=self.spec.name, database=self.ctx.db.dialect)

    def start_background(self) -> None:
        for loop in self.spec.background:
            name = f"lugx-{self.spec.name}-{getattr(loop, '__name__', 'loop')}"
            self._tasks.append(asyncio.create_task(loop(self.ctx), name=name))

    @property
    def background_running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def stop_background(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        await self.stop_background()
        await self.ctx.db.dispose()

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        return {"database": self.ctx.db.ping, "events": self.ctx.events.ready}

    def _build_app(self) -> FastAPI:
        spec = self.spec
        app = FastAPI(
            title=f"Lugx {spec.title}",
            description=spec.description,
            version="1.0",
            openapi_tags=list(spec.openapi_tags) or None,
            docs_url="/docs",
            redoc_url=None,
        )
        app.state.ctx = self.ctx
        app.state.runtime = self
        install_error_handlers(app)
        runtime = self
        # Routes are added flat, not with include_router: FastAPI then matches them directly
        # instead of walking nested routers (measured: about a quarter off a cached request).
        for router in (*spec.routers(), health_router(lambda _r: runtime.readiness_checks())):
            app.router.routes.extend(router.routes)
        app.add_middleware(RequestContextMiddleware, service=spec.name)
        return app


def standalone_lifespan(
    runtime: ServiceRuntime, wiring: Wiring, *, migrate: bool, seed: bool
) -> Callable[[FastAPI], Any]:
    """`lugx serve NAME`: the service's own process owns its start and stop."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.prepare(migrate=migrate, seed=seed)
        await start_buses(wiring.transport, [runtime.ctx.events])
        runtime.start_background()
        try:
            yield
        finally:
            await runtime.stop_background()
            await stop_buses(wiring.transport, [runtime.ctx.events])
            await runtime.close()
            await wiring.close()

    return lifespan
