"""SQLite's units of work run on the event loop's thread, through InlineSession on plain sqlite3
connections; a service with long reads keeps threaded readers (aiosqlite) for those."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database
from lugx.platform.db.inline_session import InlineSession


def _sqlite3_of(session: AsyncSession) -> sqlite3.Connection:
    assert isinstance(session, InlineSession)
    driver = session.sync_session.connection().connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


async def _session_of(database: Database, *, write: bool, long: bool = False) -> AsyncSession:
    async with database.session(write=write, long=long) as session:
        await session.execute(text("SELECT 1"))
        return session


async def _insert(database: Database, *values: int) -> None:
    async with database.session() as session:
        for value in values:
            await session.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})


@pytest.mark.parametrize("long_reads", [True, False])
async def test_who_runs_on_the_loop(tmp_path: Path, long_reads: bool) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db", long_reads=long_reads)
    try:
        assert isinstance(await _session_of(database, write=True), InlineSession)
        assert isinstance(await _session_of(database, write=False), InlineSession)
        long_reader = await _session_of(database, write=False, long=True)
        assert isinstance(long_reader, InlineSession) is not long_reads
    finally:
        await database.dispose()


async def test_inline_statements_run_on_the_loops_thread_and_commit_and_fail_as_usual(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    seen: list[str] = []
    try:
        async with database.session() as session:
            _sqlite3_of(session).create_function(  # the thread SQLite calls back on
                "whose", 0, lambda: seen.append(threading.current_thread().name) or 1
            )
            await session.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
            await session.execute(text("SELECT whose()"))
        assert seen == [threading.current_thread().name]
        with pytest.raises(Exception, match="UNIQUE"):
            await _insert(database, 2, 1)
        async with database.session(write=False) as session:  # committed once, rolled back once
            rows = (await session.execute(text("SELECT v FROM t"))).scalars().all()
        assert rows == [1]
    finally:
        await database.dispose()


async def _two_in_a_savepoint(session: AsyncSession, first: int, second: int) -> None:
    async with session.begin_nested():
        await session.execute(text("INSERT INTO t VALUES (:v)"), {"v": first})
        await session.execute(text("INSERT INTO t VALUES (:v)"), {"v": second})


async def test_what_inline_sessions_do_not_run_themselves_still_works(tmp_path: Path) -> None:
    """Savepoints and the calls InlineSession leaves to AsyncSession (run in its greenlet):
    a failed savepoint undoes its own work only."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    try:
        async with database.session() as session:
            await session.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(Exception, match="UNIQUE"):
                await _two_in_a_savepoint(session, 2, 1)
            await session.execute(text("INSERT INTO t VALUES (3)"))
            assert await session.scalar(text("SELECT count(*) FROM t")) == 2
        async with database.session(write=False) as session:
            assert list(await session.scalars(text("SELECT v FROM t ORDER BY v"))) == [1, 3]
    finally:
        await database.dispose()


async def test_a_pragma_reaches_the_connection_writes_use(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    try:
        assert await database.writer_pragma("PRAGMA synchronous") == 1  # NORMAL
        await database.writer_pragma("PRAGMA synchronous=OFF")
        async with database.session() as session:
            assert _sqlite3_of(session).execute("PRAGMA synchronous").fetchone()[0] == 0
        async with database.session(write=False) as session:  # readers keep their own
            assert _sqlite3_of(session).execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        await database.dispose()


async def test_more_readers_than_connections_wait_their_turn_without_stopping_the_loop(
    tmp_path: Path,
) -> None:
    """A request's read session spans its awaits, so more readers than the pool's connections
    can be open at once: the extra ones wait on the loop for a connection to come back (a
    synchronous pool would have waited inside, on the loop's thread, and nothing could)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db", pool_size=2)
    open_now: list[int] = []
    most = 0

    async def reader() -> int:
        nonlocal most
        async with database.session(write=False) as session:
            open_now.append(1)
            most = max(most, len(open_now))
            await asyncio.sleep(0.05)  # e.g. a cache on the network, the session still open
            value = await session.scalar(text("SELECT 1"))
            open_now.pop()
        return int(value)

    try:
        assert await asyncio.gather(*(reader() for _ in range(5))) == [1] * 5
        assert most == 2
    finally:
        await database.dispose()


def test_the_catalog_keeps_threaded_readers_for_its_searches() -> None:
    from lugx.services.catalog.app import SPEC as catalog
    from lugx.services.users.app import SPEC as users

    assert catalog.long_reads
    assert not users.long_reads


def _rows_in_the_database_file(path: Path) -> int:
    """What the main database file holds, ignoring the WAL (immutable=1 never reads it)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])
    except sqlite3.OperationalError:  # the table itself is still only in the WAL
        return 0
    finally:
        connection.close()


def _wal_restarts(path: Path) -> int:
    """How many times SQLite has started this database's WAL over from its beginning: the
    checkpoint sequence number in the WAL file's header, which each restart bumps."""
    header = Path(f"{path}-wal").read_bytes()[:16]
    return int.from_bytes(header[12:16], "big")


async def test_checkpoints_complete_under_steady_writes_so_the_wal_starts_over(
    tmp_path: Path,
) -> None:
    """Writers that never pause: a checkpoint beside them never catches up, and SQLite then
    never starts the WAL over, so it grows for as long as the load lasts. WalCheckpoints ends
    each one holding the write lock, so it completes and the next write starts the WAL over."""
    path = tmp_path / "x.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.session() as session:
            await session.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
        checkpoints = database._checkpoints
        assert checkpoints is not None
        checkpoints.every = 20
        before = _wal_restarts(path)

        async def writer(first: int) -> None:
            for value in range(first, first + 100):
                await _insert(database, value)
                await asyncio.sleep(0)  # as a server's writers do, between their requests

        await asyncio.gather(*(writer(1000 * n) for n in range(4)))  # 400 commits
        await checkpoints.wait()
        assert _wal_restarts(path) - before >= 3  # about one per checkpoint; none before
        async with database.session(write=False) as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 400
    finally:
        await database.dispose()


async def test_a_checkpoint_never_waits_for_the_loops_shared_threads(tmp_path: Path) -> None:
    """Its second pass holds the write lock: queued behind the shared pool's work (password
    hashing, say), it would stall every writer. It has a thread of its own."""
    path = tmp_path / "x.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    release = threading.Event()
    loop = asyncio.get_running_loop()
    busy = [loop.run_in_executor(None, release.wait) for _ in range(40)]  # every shared thread
    try:
        async with database.session() as session:
            await session.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
        await _insert(database, 1, 2, 3)
        checkpoints = database._checkpoints
        assert checkpoints is not None
        await asyncio.wait_for(checkpoints.run(), timeout=10)
        assert _rows_in_the_database_file(path) == 3
    finally:
        release.set()
        await asyncio.gather(*busy)
        await database.dispose()


async def test_commits_never_checkpoint_the_wal_a_thread_does_every_few_hundred(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.session() as session:
            assert _sqlite3_of(session).execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            await session.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
        checkpoints = database._checkpoints
        assert checkpoints is not None
        for value in range(checkpoints.every - 2):
            await _insert(database, value)
        await checkpoints.wait()
        assert _rows_in_the_database_file(path) == 0  # all of it still in the WAL
        await _insert(database, 10_000)  # the `every`-th commit starts a checkpoint
        await checkpoints.wait()
        assert _rows_in_the_database_file(path) == checkpoints.every - 1
    finally:
        await database.dispose()


@pytest.mark.parametrize("write", [True, False])
async def test_a_unit_of_work_never_hands_the_loop_to_another_task(
    tmp_path: Path, write: bool
) -> None:
    """Inline, a whole unit of work (open, statements, commit, close) runs without a turn of
    the loop: a writer never holds the service's write lock while other tasks run."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    ran: list[str] = []
    try:
        await _session_of(database, write=write)  # the pool's connection exists
        other = asyncio.get_running_loop().call_soon(ran.append, "another task")
        async with database.session(write=write) as session:
            await session.execute(text("SELECT 1"))
        assert ran == []
        other.cancel()
        async with database.session(write=False, long=True) as session:
            await session.execute(text("SELECT 1"))  # threaded long reads still work
    finally:
        await database.dispose()
