"""One `Database` per service: its engine(s), sessions and the transaction boundary.

SQLite (embedded wiring) runs in WAL mode with a busy timeout. Writers are serialised by an
asyncio lock and start with BEGIN IMMEDIATE, so two writers never deadlock on a lock upgrade and
never sit in SQLite's coarse busy-wait sleeps; the writer's connection runs on the loop's thread
(inline_sqlite.py), so the lock is held only for the work itself. Readers use their own engine
(inline too, or threaded for a service with long reads) and never wait for a writer.
PostgreSQL (distributed wiring) uses one pooled engine and its own row locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from lugx.platform.db.inline_sqlite import inline_connector

SQLITE_BUSY_TIMEOUT_MS = 30_000
_AFTER_COMMIT = "lugx.after_commit"

AfterCommit = Callable[[], Awaitable[Any]]

log = structlog.get_logger(__name__)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once this unit of work has committed (never if it rolls back): for work
    that must not see, or act on, uncommitted data, such as dropping a cache entry that a
    concurrent read could otherwise fill again with the old row."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(
    url: str, *, begin: str, pool_size: int, echo: bool, inline: bool = False
) -> AsyncEngine:
    """`inline`: run the connection's calls on the loop's thread (the writer, and the readers
    of a service without long reads: see inline_sqlite.py); else aiosqlite's worker thread per
    connection."""
    # Every session ends its transaction itself (commit or rollback), so the pool's own
    # rollback on return would only cost another trip to SQLite's thread.
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
    extra: dict[str, Any] = (
        {"async_creator": inline_connector(database or ":memory:", timeout=timeout)}
        if inline
        else {"connect_args": {"timeout": timeout}}
    )
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_reset_on_return=None,
        **extra,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, inline_reads: bool = True
    ) -> None:
        """`inline_reads` (SQLite): readers on the loop's thread too, as the writer is. Right for
        short indexed reads (a thread hop costs more than the query, and under load the answer
        waits its turn on the busy loop); wrong for a service whose reads can take milliseconds
        (the catalog's search), which keeps threaded readers so SQLite works beside the loop."""
        self.url = url
        self.sqlite = is_sqlite(url)
        if self.sqlite:
            self.writer = _sqlite_engine(
                url, begin="BEGIN IMMEDIATE", pool_size=1, echo=echo, inline=True
            )
            self.reader = _sqlite_engine(
                url, begin="BEGIN", pool_size=pool_size, echo=echo, inline=inline_reads
            )
        else:
            self.writer = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.reader = self.writer
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.sqlite else None

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @asynccontextmanager
    async def session(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back when it raises."""
        if write and self._write_lock is not None:
            async with self._write_lock, self._scoped(self._write_sessions) as session:
                yield session
        else:
            async with self._scoped(self._write_sessions if write else self._read_sessions) as s:
                yield s

    @asynccontextmanager
    async def _scoped(
        self, factory: async_sessionmaker[AsyncSession]
    ) -> AsyncIterator[AsyncSession]:
        async with factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            for callback in session.info.pop(_AFTER_COMMIT, ()):
                try:
                    await callback()
                except Exception:
                    log.exception("after-commit callback failed")

    async def ping(self) -> None:
        async with self.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
