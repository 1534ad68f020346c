"""Fixtures for the event kit: a real database per test (a SQLite file; also PostgreSQL when
LUGX_TEST_POSTGRES_URL, or the suite-wide LUGX_TEST_DATABASE_URL, names a server), with the event
tables and two small domain tables: `orders` (the producer's change) and `effects` (one row per
handler run)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database, new_metadata
from lugx.platform.events import Event, EventTables, event_tables
from lugx.platform.settings import Settings

POSTGRES_URL = os.environ.get("LUGX_TEST_POSTGRES_URL") or (
    url if (url := os.environ.get("LUGX_TEST_DATABASE_URL", "")).startswith("postgresql") else None
)
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


def build_metadata() -> tuple[MetaData, EventTables, Table, Table]:
    metadata = new_metadata()
    tables = event_tables(metadata)
    orders = Table(
        "orders",
        metadata,
        Column("id", Uuid(), primary_key=True),
        Column("note", String(100), nullable=False),
    )
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer(), primary_key=True, autoincrement=True),
        Column("consumer", String(100), nullable=False),
        Column("event_id", Uuid(), nullable=False),
        Column("note", String(100), nullable=False),
    )
    return metadata, tables, orders, effects


@dataclass
class EventsEnv:
    db: Database
    url: str
    metadata: MetaData
    tables: EventTables
    orders: Table
    effects: Table

    async def count(self, table: Table, *where: Any) -> int:
        async with self.db.session(write=False) as session:
            return int(
                await session.scalar(select(func.count()).select_from(table).where(*where)) or 0
            )

    async def rows(self, table: Table, *where: Any) -> list[Any]:
        async with self.db.session(write=False) as session:
            return list((await session.execute(select(table).where(*where))).all())

    def effect_handler(
        self, consumer: str = "c", *, fail: Callable[[Event], bool] | None = None
    ) -> Callable[[AsyncSession, Event], Awaitable[None]]:
        """A handler whose effect is a row in `effects`; it raises when `fail(event)` is true
        (after writing, so a failure must roll the write back)."""

        async def handler(session: AsyncSession, event: Event) -> None:
            await session.execute(
                insert(self.effects).values(
                    consumer=consumer, event_id=event.id, note=str(event.payload.get("note", ""))
                )
            )
            if fail is not None and fail(event):
                raise RuntimeError(f"handler fault on {event.type}")

        return handler


def _run_admin_sql(url: str, statement: str) -> None:
    """CREATE/DROP DATABASE on the PostgreSQL server (outside any test's event loop)."""

    async def run() -> None:
        import asyncpg

        admin = make_url(url).set(drivername="postgresql")
        conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """One database per test session (so per xdist worker), dropped afterwards. Each test
    creates and drops the tables in it."""
    assert POSTGRES_URL is not None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"lugx_events_{worker}_{uuid.uuid4().hex[:10]}"
    _run_admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    return str(request.getfixturevalue("postgres_database_url"))


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[EventsEnv]:
    """Fresh tables for each test: a new SQLite file, or emptied tables in the shared
    PostgreSQL database (cheaper than dropping and creating them every time)."""
    metadata, tables, orders, effects = build_metadata()
    db = Database(database_url, pool_size=5)
    async with db.writer.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield EventsEnv(db, database_url, metadata, tables, orders, effects)
    finally:
        async with db.writer.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
        await db.dispose()


@pytest.fixture
async def second_db(tmp_path: Path) -> AsyncIterator[Database]:
    """Another service's own database, with the same tables (SQLite: the embedded wiring)."""
    metadata = build_metadata()[0]
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'other-service.db'}")
    async with db.writer.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield db
    await db.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        outbox_poll_seconds=0.05,
        event_max_attempts=3,
        event_backoff_base_seconds=0.01,
        event_backoff_max_seconds=0.05,
    )


Condition = Callable[[], Awaitable[bool]]
Eventually = Callable[[Condition, float], Awaitable[None]]


@pytest.fixture
def eventually() -> Eventually:
    """`await eventually(condition, timeout)`: poll an async condition until true or fail."""

    async def wait(condition: Condition, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await condition():
            if loop.time() > deadline:
                pytest.fail(f"condition not met within {timeout}s")
            await asyncio.sleep(0.02)

    return wait
