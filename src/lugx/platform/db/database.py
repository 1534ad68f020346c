"""One `Database` per service: its engine(s), sessions and the transaction boundary.

SQLite (embedded wiring) runs in WAL mode with a busy timeout. Writers are serialised by an
asyncio lock and start with BEGIN IMMEDIATE, so two writers never deadlock on a lock upgrade and
never sit in SQLite's coarse busy-wait sleeps. Units of work run on the loop's thread, through
`InlineSession` (inline_session.py) on plain sqlite3 connections, so the lock is held only for
the work itself; the WAL is checkpointed on a thread every few hundred commits (WalCheckpoints),
never by a commit, and completely, so that it starts over instead of growing. Readers have
their own connections and never wait for a writer. A service's long reads, and work on engines
rather than sessions (migrations), go through aiosqlite's threads. PostgreSQL (distributed
wiring) uses one pooled engine and its own row locks.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from lugx.platform.db.inline_session import HeldConnections, InlineSession
from lugx.platform.db.lazy_orm import LazyOrm
from lugx.platform.db.pg_session import KeptConnections, LentConnection, PgSession

SQLITE_BUSY_TIMEOUT_MS = 30_000
# About SQLite's own default (1,000 WAL pages) for transactions of a few pages each.
CHECKPOINT_EVERY_COMMITS = 250
_AFTER_COMMIT = "lugx.after_commit"
_BEFORE_COMMIT = "lugx.before_commit"
_IDLE_SINCE = "lugx.idle_since"
# PostgreSQL: a pooled connection unused this long is checked before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0

AfterCommit = Callable[[], Awaitable[Any]]
SessionFactory = Callable[[], AsyncSession]

log = structlog.get_logger(__name__)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once this unit of work has committed (never if it rolls back): for work
    that must not see, or act on, uncommitted data, such as dropping a cache entry that a
    concurrent read could otherwise fill again with the old row."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def before_commit(session: AsyncSession, callback: AfterCommit) -> bool:
    """Run `callback` in this unit of work's transaction, just before it commits (never if it
    rolls back); if it raises, the unit of work rolls back. For writes gathered along the way
    and sent as one statement. False, and nothing kept, if `session` is not made by
    `Database.session` as an `InlineSession` or `PgSession` (a SQLite long read's, or one made
    elsewhere), whose commit this cannot see."""
    if not isinstance(session, LazyOrm):
        return False
    session.info.setdefault(_BEFORE_COMMIT, []).append(callback)
    return True


def in_savepoint(session: AsyncSession) -> bool:
    """Whether the session is inside a savepoint (`begin_nested`), whose rollback can undo a
    write while the unit of work still commits. Asking does not make a lazy ORM session: a
    unit of work without one has no savepoint."""
    orm = session._orm if isinstance(session, LazyOrm) else session.sync_session
    return orm is not None and orm.in_nested_transaction()


def _async_sessions(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> str | None:
    """The database's file, its folder made (None: in memory)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database


def _sqlite_engine(url: str, *, writer: bool, pool_size: int, echo: bool) -> AsyncEngine:
    """An asyncio engine on the file, its calls on aiosqlite's thread per connection: for a
    service's long reads, and for work on engines and connections rather than units of work
    (migrations, tests that build tables, readiness)."""
    # Every session ends its transaction itself (commit or rollback), so the pool's own
    # rollback on return would only cost another trip to SQLite.
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_reset_on_return=None,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    _configure_sqlite(engine.sync_engine, writer=writer)
    return engine


def _session_engine(url: str, *, writer: bool, pool_size: int, echo: bool) -> Engine:
    """The synchronous engine an `InlineSession` works on: plain sqlite3 connections, used
    only from the loop's thread (the pool may close one from elsewhere). The writer's one
    connection is only ever used under the write lock, so it needs no pool's bookkeeping
    (StaticPool); readers can be open side by side (a request's session spans its awaits)."""
    pooling: dict[str, Any] = (
        {"poolclass": StaticPool} if writer else {"pool_size": pool_size, "max_overflow": 0}
    )
    engine = create_engine(
        make_url(url).set(drivername="sqlite+pysqlite"),
        echo=echo,
        pool_reset_on_return=None,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **pooling,
    )
    _configure_sqlite(engine, writer=writer)
    return engine


def _configure_sqlite(engine: Engine, *, writer: bool) -> None:
    """WAL, the busy timeout and foreign keys on every connection; the `writer` starts its
    transactions with BEGIN IMMEDIATE and leaves checkpoints to `Database`."""
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if writer:
            # Its commits run on the loop: a checkpoint (which syncs the database file) must
            # not ride on one of them. Database.checkpoint runs them on a thread instead.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: SQLAlchemy's own path for a driver statement costs far more
        # than SQLite does, on every transaction.
        driver = connection.connection.driver_connection
        if isinstance(driver, sqlite3.Connection):
            driver.execute(begin)
        else:  # aiosqlite's, on its thread
            connection.exec_driver_sql(begin)


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled PostgreSQL connection is alive before handing it out, but only when it
    has sat unused `idle_seconds` or more: the database may have restarted or dropped it
    meanwhile. SQLAlchemy's `pool_pre_ping` checks on every checkout, which with asyncpg is
    three round trips (BEGIN, a query, ROLLBACK): 5 % of the server's time under the checkout
    benchmark, for connections used a few milliseconds earlier. A connection that dies while
    in steady use fails its next statement instead; SQLAlchemy then drops the pool's
    connections, and the request fails once, as it would have mid-transaction anyway."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError("a pooled connection was dead after sitting idle") from exc


class WalCheckpoints:
    """Copies an SQLite database's WAL back into it every `every` write transactions, on a
    thread, so the loop never waits for the disk.

    A checkpoint that writers keep adding to never catches up, and SQLite starts its WAL over
    from the beginning only once one has: under steady writes the WAL grew without end (340 MB
    in 15 s of the checkout benchmark), and every frame went to a new page of the file, which
    the kernel had to allocate and zero first (a third of the server's time in the kernel).
    So a checkpoint runs twice: first beside the writers, copying nearly everything; then once
    more holding the service's write lock, so that nothing new arrives and it completes (one
    that looked complete beside the writers may not be by the time it returns). The next write
    transaction then starts the WAL over, writing into pages the file already has. Both are
    PASSIVE: they never wait for readers (a reader still on an old snapshot leaves the rest to
    the next checkpoint). The writers wait for the second one only: a few milliseconds."""

    def __init__(
        self, path: str, write_lock: asyncio.Lock, *, every: int = CHECKPOINT_EVERY_COMMITS
    ) -> None:
        self.path = path
        self.every = every
        self._write_lock = write_lock
        self._commits = 0
        self._running: asyncio.Task[None] | None = None
        # A thread of its own, with one connection: the second pass holds the write lock, so it
        # must never queue behind other work in the loop's shared pool (password hashing).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lugx-checkpoint")
        self._connection: sqlite3.Connection | None = None

    def committed(self) -> None:
        self._commits += 1
        if self._commits >= self.every and (self._running is None or self._running.done()):
            self._commits = 0
            self._running = asyncio.create_task(self.run())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # Nearly all of it beside the writers; then what they wrote meanwhile, none writing.
            await loop.run_in_executor(self._thread, self._checkpoint)
            async with self._write_lock:
                await loop.run_in_executor(self._thread, self._checkpoint)
        except Exception:
            log.exception("WAL checkpoint failed; the next one will try again", db=self.path)

    def _checkpoint(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self.path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def wait(self) -> None:
        if self._running is not None:
            await self._running

    async def close(self) -> None:
        """After the last checkpoint: its connection closed, its thread let go (once)."""
        await self.wait()
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, connection.close)
        self._thread.shutdown(wait=False)


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        long_reads: bool = False,
        ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS,
    ) -> None:
        """SQLite's readers run on the loop's thread, as the writer does: for short indexed
        reads a thread's round trip costs more than the query, and under load its answer waits
        its turn on the busy loop. `long_reads`: the service also has reads that can take
        milliseconds (the catalog's searches); those ask for `session(long=True)` and get a
        threaded reader, so SQLite works beside the loop instead of stopping it. PostgreSQL:
        see `_ping_when_idle`."""
        self.url = url
        self.sqlite = is_sqlite(url)
        self._inline: tuple[Engine, Engine] | None = None
        self._held: tuple[HeldConnections, HeldConnections] | None = None
        self._long_reads = long_reads
        self._write_lock: asyncio.Lock | None = None
        self._read_slots: asyncio.Semaphore | None = None
        self._checkpoints: WalCheckpoints | None = None
        self._kept: KeptConnections | None = None
        if self.sqlite:
            file = _sqlite_file(url)
            self.writer = _sqlite_engine(url, writer=True, pool_size=1, echo=echo)
            self.reader = _sqlite_engine(url, writer=False, pool_size=pool_size, echo=echo)
            self._inline = (
                _session_engine(url, writer=True, pool_size=1, echo=echo),
                _session_engine(url, writer=False, pool_size=pool_size, echo=echo),
            )
            self._held = (HeldConnections(self._inline[0]), HeldConnections(self._inline[1]))
            self._sessions = _async_sessions(self.reader)  # long reads, if the service has them
            self._write_lock = write_lock = asyncio.Lock()
            # Inline readers wait for a connection here, on the loop, never inside their pool:
            # a synchronous pool would wait on the loop's own thread, so nothing could give one
            # back.
            self._read_slots = asyncio.Semaphore(pool_size)
            self._checkpoints = WalCheckpoints(file, write_lock) if file is not None else None
        else:
            self.writer = self.reader = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size
            )
            _ping_when_idle(self.writer.sync_engine, ping_after_idle_seconds)
            self._kept = KeptConnections(
                self.writer, size=pool_size, ping_after=ping_after_idle_seconds
            )
            self._sessions = _async_sessions(self.writer)

    def session_engine(self, *, write: bool) -> Engine:
        """The synchronous engine beneath units of work of this kind (long reads aside): where
        to listen for the statements they run."""
        if self._inline is not None:
            return self._inline[0] if write else self._inline[1]
        return self.writer.sync_engine

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    def session(
        self, *, write: bool = True, long: bool = False, single: bool = False
    ) -> UnitOfWork:
        """A unit of work: commits when the block ends normally, rolls back when it raises.
        `long`: a read that may take milliseconds (see `long_reads`). `single`: a write of one
        prepared statement, which on PostgreSQL is its own transaction, without BEGIN and COMMIT
        (two round trips of three). The statement commits as it runs: nothing after it in the
        block can roll it back. A second statement, or the ORM, is refused, on SQLite too
        (where the unit of work stays one transaction, as the writer's are anyway)."""
        return UnitOfWork(self, write=write, long=long, single=single)

    async def _close(self, session: AsyncSession) -> None:
        """An InlineSession closes without yielding. PostgreSQL's close, and a threaded long
        reader's, can yield, and keep the protection from cancellation AsyncSession's own exit
        wraps it in (a task and a shield: two turns of the loop, too dear for SQLite's writer,
        which holds the service's write lock meanwhile)."""
        if isinstance(session, InlineSession | PgSession):
            await session.close()
        else:
            await session.__aexit__(None, None, None)

    async def writer_pragma(self, statement: str) -> Any:
        """SQLite: run a PRAGMA on the connection write sessions use, outside any transaction
        (bulk loads turn fsyncs off for their duration); its first value, if any."""
        assert self._held is not None, "a PRAGMA is SQLite's"
        assert self._write_lock is not None
        async with self._write_lock:
            connection = self._held[0].take()
            try:
                driver = connection.connection.driver_connection
                assert isinstance(driver, sqlite3.Connection)
                row = driver.execute(statement).fetchone()
            finally:
                self._held[0].give_back(connection)
        return row[0] if row else None

    async def ping(self) -> None:
        async with self.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._checkpoints is not None:
            await self._checkpoints.close()
        if self._kept is not None:
            await self._kept.close()
        for engine in {self.writer, self.reader}:
            await engine.dispose()
        for held in self._held or ():
            held.close()
        for sync_engine in self._inline or ():
            sync_engine.dispose()


class UnitOfWork:
    """`Database.session()`: `async with db.session() as session:`. One object rather than
    context managers nested as generators: a checkout journey runs twenty units of work, and
    three async generators each (made, registered with the loop, driven, finalised) were some
    4 % of it.

    In: SQLite takes the write lock (or a reader's slot) and a held connection; PostgreSQL
    borrows a pooled connection (`LentConnection`; a short read's runs without BEGIN). Out:
    commit, or roll back if the block raised (or the commit did); close the session; give back
    the connection and the lock; then, after a commit only, the after-commit callbacks."""

    __slots__ = (
        "_connection",
        "_db",
        "_gate",
        "_held",
        "_lent",
        "_long",
        "_session",
        "_single",
        "_write",
    )

    def __init__(self, db: Database, *, write: bool, long: bool, single: bool = False) -> None:
        self._db = db
        self._write = write
        self._long = long
        self._single = single and write and not long
        self._gate: asyncio.Lock | asyncio.Semaphore | None = None
        self._held: HeldConnections | None = None
        self._connection: Connection | None = None
        self._lent: LentConnection | None = None
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        db = self._db
        if db._kept is not None:
            # A long read may set what its transaction plans with (SET LOCAL): it keeps one.
            transaction = (self._write and not self._single) or self._long
            self._lent = LentConnection(await db._kept.take(), transaction=transaction)
            self._session = PgSession(self._lent, single=self._single)
        elif self._write or not (self._long and db._long_reads):
            assert db._held is not None
            gate = db._write_lock if self._write else db._read_slots
            assert gate is not None
            await gate.acquire()
            self._gate = gate
            held = db._held[0 if self._write else 1]
            try:
                self._connection = held.take()
            except BaseException:
                self._release_gate()
                raise
            self._held = held
            self._session = InlineSession(self._connection, write=self._write, single=self._single)
        else:  # a long read, on aiosqlite's thread
            self._session = db._sessions()
        return self._session

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        session = self._session
        assert session is not None, "a unit of work is entered once"
        self._session = None
        try:
            try:
                if kind is None:
                    for callback in session.info.pop(_BEFORE_COMMIT, ()):
                        await callback()
                    await session.commit()
                else:
                    await session.rollback()
            except BaseException:
                if kind is None:
                    await session.rollback()  # the commit failed
                raise
            finally:
                await self._db._close(session)
        finally:
            await self._give_back()
        if kind is not None:
            return  # the block's exception goes on
        if self._write and self._db._checkpoints is not None:
            self._db._checkpoints.committed()
        for callback in session.info.pop(_AFTER_COMMIT, ()):
            try:
                await callback()
            except Exception:
                log.exception("after-commit callback failed")

    async def _give_back(self) -> None:
        if self._held is not None and self._connection is not None:
            self._held.give_back(self._connection)
            self._held = self._connection = None
        self._release_gate()
        if self._lent is not None:
            lent, self._lent = self._lent, None
            await lent.close(keep=self._db._kept.keep if self._db._kept is not None else None)

    def _release_gate(self) -> None:
        if self._gate is not None:
            self._gate.release()
            self._gate = None
