"""Shared test wiring.

The suite runs on the embedded defaults (SQLite files, in-memory cache, in-process events), and
again on real engines when these are set (CI sets them; see .ci/run):
  LUGX_TEST_DATABASE_URL   e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
  LUGX_TEST_REDIS_URL      e.g. redis://127.0.0.1:6379/0
  LUGX_TEST_BROKER_URL     e.g. nats://127.0.0.1:4222

Each test worker gets its own databases, migrated once, named for this run and worker (so two
suites may share one PostgreSQL) and dropped when the worker ends; every test starts from empty
tables (rows are deleted after each test, which also lets tests commit and race for real).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from lugx.platform.bootstrap import Platform
from lugx.platform.clients import ServiceClient
from lugx.platform.db import Database
from lugx.platform.settings import Settings
from lugx.services import available
from tests.brokers import remove_namespace

TEST_DATABASE_URL = os.environ.get("LUGX_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("LUGX_TEST_REDIS_URL")
TEST_BROKER_URL = os.environ.get("LUGX_TEST_BROKER_URL")


# This run's id: two suites running at once against one PostgreSQL (two developers, or a run
# next to CI) must not drop each other's databases. xdist gives its workers one id per run.
RUN_ID = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:8]


def worker_name() -> str:
    """This worker of this run: part of the name of every database it makes."""
    return f"{RUN_ID}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


async def _drop_postgres_databases_of_this_worker() -> None:
    """At the end of a worker's session: its databases go (they are this run's alone)."""
    import asyncpg

    admin = make_url(TEST_DATABASE_URL or "")
    conn = await asyncpg.connect(
        host=admin.host,
        port=admin.port or 5432,
        user=admin.username or "postgres",
        password=admin.password,
        database=admin.database or "postgres",
    )
    try:
        names = [row["datname"] for row in await conn.fetch("SELECT datname FROM pg_database")]
        for name in names:
            if name.startswith("lugx_") and f"_{worker_name()}_" in name:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _postgres_databases_dropped_at_the_end() -> Iterator[None]:
    yield
    if TEST_DATABASE_URL:
        asyncio.run(_drop_postgres_databases_of_this_worker())


def database_template(tmp_root: Path) -> str:
    """Where each service's test database lives, for this worker."""
    if TEST_DATABASE_URL:
        # Rendered with a plain marker, then turned into the {service} placeholder: SQLAlchemy
        # would escape the braces.
        url = make_url(TEST_DATABASE_URL).set(database=f"lugx_test_{worker_name()}_SERVICE")
        return url.render_as_string(hide_password=False).replace("SERVICE", "{service}")
    return f"sqlite+aiosqlite:///{tmp_root}/{{service}}.db"


async def _recreate_postgres_databases(template: str, services: list[str]) -> None:
    import asyncpg

    admin = make_url(TEST_DATABASE_URL or "")
    conn = await asyncpg.connect(
        host=admin.host,
        port=admin.port or 5432,
        user=admin.username or "postgres",
        password=admin.password,
        database=admin.database or "postgres",
    )
    try:
        for service in services:
            name = make_url(template.format(service=service)).database
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def test_settings(data_dir: Path, template: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url_template": template,
        "redis_url": TEST_REDIS_URL,
        "broker_url": TEST_BROKER_URL,
        "log_level": "WARNING",
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 64,
        "login_slowdown_seconds": 0.01,
        "outbox_poll_seconds": 0.05,
        "rate_limit_per_minute": 100_000,
        "db_pool_size": 5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Create and migrate this worker's databases once; yield (data_dir, url template)."""
    root = tmp_path_factory.mktemp("lugx")
    template = database_template(root)
    specs = available()

    async def migrate() -> None:
        if TEST_DATABASE_URL:
            await _recreate_postgres_databases(template, [s.name for s in specs])
        settings = test_settings(root, template)
        platform = Platform(settings, specs)
        for runtime in platform.runtimes.values():
            await runtime.migrate()
            await runtime.ctx.db.dispose()

    asyncio.run(migrate())
    return root, template


async def stop_emptied(platform: Platform) -> None:
    """Stop a test's platform and empty its tables for the next test.

    Events stop first: a consumer still settling an order would hold row locks the DELETEs
    wait on while they hold locks it waits on, and PostgreSQL ends one of them as a deadlock.
    """
    await platform.halt()
    try:
        for runtime in platform.runtimes.values():
            async with runtime.ctx.db.session() as session:
                for table in reversed(runtime.spec.metadata.sorted_tables):
                    await session.execute(delete(table))
    finally:
        await platform.close()
        if TEST_BROKER_URL:
            await remove_namespace(TEST_BROKER_URL, platform.settings.event_namespace, [])


@pytest.fixture
def settings(migrated: tuple[Path, str]) -> Settings:
    data_dir, template = migrated
    # Each test gets its own key space in a shared Redis and its own streams on a real broker.
    run = uuid.uuid4().hex[:12]
    return test_settings(
        data_dir, template, cache_prefix=f"lugx-test:{run}:", event_namespace=f"lugxt{run}"
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    platform = Platform(settings, available())
    await platform.start(migrate=False, seed=False)
    try:
        yield platform
    finally:
        await stop_emptied(platform)


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP in through the real gateway, the way a player's client arrives."""
    from lugx.gateway.app import create_gateway

    gateway = create_gateway(
        platform.wiring,
        {name: runtime.app for name, runtime in platform.runtimes.items()},
        readiness={
            f"{name}.{check}": fn
            for name, runtime in platform.runtimes.items()
            for check, fn in runtime.readiness_checks().items()
        },
    )
    transport = httpx.ASGITransport(app=gateway, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://lugx.test") as http:
        yield http


def database_of(platform: Platform, service: str) -> Database:
    return platform.runtimes[service].ctx.db


async def newer_then_older(
    monkeypatch: pytest.MonkeyPatch,
    repository: Any,
    read_name: str,
    newer: Callable[[], Awaitable[Any]],
    older: Callable[[], Awaitable[Any]],
) -> None:
    """Two deliveries about one row racing past a read-then-write, the older one about to
    overwrite the newer: `newer` reads the row (through `repository.<read_name>`) and holds on
    before committing while `older` reads it too (or waits for the lock, on PostgreSQL, or for
    its turn as the one writer, on SQLite); `older` then writes only after `newer` committed.
    Without a lock on the read, the older one writes over the newer one."""
    newer_read, older_asked, newer_done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    read = getattr(repository, read_name)

    async def racing_read(*args: Any, **kw: Any) -> Any:
        if not newer_read.is_set():  # the newer delivery
            found = await read(*args, **kw)
            newer_read.set()
            with contextlib.suppress(TimeoutError):  # SQLite: the older one cannot start yet
                await asyncio.wait_for(older_asked.wait(), 2)
            await asyncio.sleep(0.3)  # the older one's read runs (or waits) meanwhile
            return found
        older_asked.set()
        found = await read(*args, **kw)
        await asyncio.wait_for(newer_done.wait(), 10)  # it writes after the newer committed
        return found

    monkeypatch.setattr(repository, read_name, racing_read)

    async def run_newer() -> None:
        await newer()
        newer_done.set()

    async def run_older() -> None:
        await newer_read.wait()
        await older()

    await asyncio.gather(run_newer(), run_older())


def units_of_work(
    monkeypatch: pytest.MonkeyPatch, db: Database, *, here: bool = False
) -> list[dict[str, bool]]:
    """The kind of each unit of work `db` opens from here on (`write`, `long`, `single`), in
    order: where a single-statement one is the point (one round trip on PostgreSQL instead of
    three), the tests say so. `here`: only those the calling task opens (a request through the
    test's in-process client runs in it; consumers and relays, which a broker may wake at any
    time, run in tasks of their own)."""
    opened: list[dict[str, bool]] = []
    session = db.session
    caller = asyncio.current_task()

    def noted(*, write: bool = True, long: bool = False, single: bool = False) -> Any:
        if not here or asyncio.current_task() is caller:
            opened.append({"write": write, "long": long, "single": single})
        return session(write=write, long=long, single=single)

    monkeypatch.setattr(db, "session", noted)
    return opened


C = TypeVar("C", bound=ServiceClient)


def over_http(platform: Platform, client_type: type[C], caller: str) -> C:
    """A typed client carrying `caller`'s service token that always goes through the service's
    endpoints (as in the distributed wiring), never into its operations in-process: for tests
    of what those endpoints check."""
    tokens = platform.wiring.service_tokens
    return client_type(
        platform.wiring.clients.caller(client_type.service),
        service_token=lambda: tokens.issue(caller),
    )


# Ports for servers the tests start, below the kernel's ephemeral range: a port the kernel hands
# out (bind to 0) can be taken by any outgoing connection (to PostgreSQL, Redis, the broker)
# before the server that was to listen on it has started. Each test worker has its own block.
PORTS_FROM = 10_000
_next_port: dict[str, int] = {}


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's usual start


def free_port() -> int:
    """A loopback port nobody listens on right now, for a server a test starts."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), index + 1)
    size = (_ephemeral_ports_start() - PORTS_FROM) // workers
    block = PORTS_FROM + index * size
    for _ in range(size):
        offset = _next_port.get(worker, 0)
        _next_port[worker] = (offset + 1) % size
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", block + offset))
            except OSError:
                continue  # in use (another program, or a test's server not yet gone)
            return block + offset
    raise RuntimeError(f"no free port in {block}-{block + size - 1}")


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free loopback port, in this loop: its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
