"""The database kit on SQLite (always) and PostgreSQL (when LUGX_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import JSON, Integer, String, func, insert, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lugx.platform.db import (
    Database,
    Timestamps,
    UTCDateTime,
    UUIDPrimaryKey,
    after_commit,
    new_metadata,
)
from lugx.platform.db.inline_session import InlineSession
from lugx.platform.db.prepared import prepared
from lugx.platform.db.sql import insert_new, insert_of
from tests.platform.databases import BACKENDS, ONLY_POSTGRES, database_on, postgres_url


class Base(DeclarativeBase):
    metadata = new_metadata()


class Counter(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(20), unique=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Numbered(UUIDPrimaryKey, Base):
    """A default only the database can compute (a SQL expression)."""

    __tablename__ = "numbered"

    number: Mapped[int] = mapped_column(Integer, default=text("7"))


class Labelled(UUIDPrimaryKey, Base):
    __tablename__ = "labelled"

    label: Mapped[str] = mapped_column(String(20), server_default="plain")
    note: Mapped[dict[str, str] | None] = mapped_column(JSON)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await database_on(request.param, tmp_path, "kit", Base.metadata, pool_size=5)
    yield database
    await database.dispose()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with database.session(write=False) as session:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await database.dispose()


async def test_times_come_back_aware_in_utc(db: Database) -> None:
    plus_two = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    async with db.session() as session:
        session.add(Counter(name="t", seen_at=plus_two))
    async with db.session(write=False) as session:
        row = (await session.execute(select(Counter))).scalar_one()
    assert row.seen_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert row.seen_at.tzinfo is UTC
    assert row.created_at.tzinfo is UTC
    assert isinstance(row.id, uuid.UUID)


async def test_naive_times_are_refused(db: Database) -> None:
    async def add_naive() -> None:
        async with db.session() as session:
            session.add(Counter(name="naive", seen_at=datetime(2026, 1, 1)))
            await session.flush()

    with pytest.raises(Exception, match="naive"):
        await add_naive()


async def test_a_failing_unit_of_work_leaves_nothing(db: Database) -> None:
    async def fail_midway() -> None:
        async with db.session() as session:
            session.add(Counter(name="ghost"))
            await session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    async with db.session(write=False) as session:
        assert (await session.execute(select(Counter))).first() is None


async def test_concurrent_writers_all_commit(db: Database) -> None:
    """50 read-modify-write units of work at once: none fails with 'database is locked' and
    none loses an update (SQLite: serialised writers; PostgreSQL: a row lock)."""
    async with db.session() as session:
        session.add(Counter(name="hits", value=0))

    async def bump() -> None:
        async with db.session() as session:
            query = select(Counter).where(Counter.name == "hits")
            if db.dialect == "postgresql":
                query = query.with_for_update()
            row = (await session.execute(query)).scalar_one()
            await asyncio.sleep(0)  # give the others every chance to interleave
            row.value += 1

    await asyncio.gather(*(bump() for _ in range(50)))
    async with db.session(write=False) as session:
        row = (await session.execute(select(Counter))).scalar_one()
    assert row.value == 50


async def test_readers_do_not_wait_for_a_writer(db: Database) -> None:
    async with db.session() as session:
        session.add(Counter(name="r", value=1))
    async with db.session() as writer:
        (await writer.execute(select(Counter))).scalar_one().value = 2
        await writer.flush()
        async with db.session(write=False) as reader:
            seen = (await reader.execute(select(Counter.value))).scalar_one()
        assert seen == 1  # the uncommitted write is invisible, and reading did not block


async def test_after_commit_runs_only_once_committed(db: Database) -> None:
    seen: list[str] = []

    async def record(what: str) -> None:
        async with db.session(write=False) as session:
            names = (await session.execute(select(Counter.name))).scalars().all()
        seen.append(f"{what}:{sorted(names)}")

    async with db.session() as session:
        session.add(Counter(name="kept"))
        after_commit(session, lambda: record("committed"))

    async def roll_back() -> None:
        async with db.session() as session:
            session.add(Counter(name="dropped"))
            after_commit(session, lambda: record("rolled-back"))
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await roll_back()
    assert seen == ["committed:['kept']"]


async def test_after_commit_work_runs_once_the_unit_of_work_let_go(db: Database) -> None:
    """The callbacks run after the connection and the write lock are given back: one can
    write on the same database (inside the lock, SQLite's would wait for itself forever)."""

    async def follow_up() -> None:
        async with db.session() as session:
            session.add(Counter(name="follow-up"))

    async with db.session() as session:
        session.add(Counter(name="first"))
        after_commit(session, follow_up)
    async with db.session(write=False) as session:
        names = (await session.execute(select(Counter.name))).scalars().all()
    assert sorted(names) == ["first", "follow-up"]


async def test_a_failed_commit_rolls_back_and_lets_go(db: Database) -> None:
    """A commit that fails (a deferred constraint, a dead connection) is rolled back and raised;
    the lock and the connection are given back, so the next unit of work goes on."""
    async with db.session() as session:
        session.add(Counter(name="taken"))

    async def clash() -> None:
        async with db.session() as session:
            session.add(Counter(name="taken"))  # flushed at commit: a unique violation

    for _ in range(3):  # more than once: nothing was left held
        with pytest.raises(IntegrityError):
            await asyncio.wait_for(clash(), timeout=5)
    async with db.session() as session:
        session.add(Counter(name="next"))
    async with db.session(write=False) as session:
        names = (await session.execute(select(Counter.name))).scalars().all()
    assert sorted(names) == ["next", "taken"]


async def test_insert_new_writes_one_row_without_a_flush(db: Database) -> None:
    """The object gets its defaults, belongs to the session afterwards (a change to it is an
    UPDATE), and a unique key says no: IntegrityError, or False with `unless_taken`."""
    async with db.session() as session:
        made = Counter(name="first")
        assert await insert_new(session, made)
        assert isinstance(made.id, uuid.UUID)
        assert made.value == 0
        assert made.created_at is not None
        made.value = 5  # flushed at commit as an UPDATE of the row just written
    async with db.session() as session:
        assert not await insert_new(session, Counter(name="first"), unless_taken=True)
        assert await insert_new(session, Counter(name="second"), unless_taken=True)
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await insert_new(session, Counter(name="second", value=9))
    async with db.session(write=False) as session:
        rows = (await session.execute(select(Counter.name, Counter.value))).all()
    assert sorted((name, value) for name, value in rows) == [("first", 5), ("second", 0)]


async def test_insert_new_untracked_leaves_the_object_detached(db: Database) -> None:
    """With track=False the row is written and committed, and the object, with its defaults, is
    the caller's alone: detached, not in the session (on SQLite the unit of work makes no ORM
    session at all)."""
    async with db.session() as session:
        made = Counter(name="untracked")
        assert await insert_new(session, made, track=False)
        assert sa_inspect(made).detached  # of no session
        assert isinstance(made.id, uuid.UUID)
        if isinstance(session, InlineSession):
            assert session._orm is None
    async with db.session(write=False) as session:
        stored = (await session.execute(select(Counter.id, Counter.value))).one()
    assert tuple(stored) == (made.id, 0)


@ONLY_POSTGRES
async def test_postgres_checks_a_connection_only_after_it_sat_idle() -> None:
    """A connection reused at once is handed out unchecked; one idle past the threshold is
    pinged, and when the server has dropped it meanwhile the pool replaces it unnoticed."""
    url = await postgres_url("ping")
    database = Database(url, pool_size=1, ping_after_idle_seconds=0.3)
    other = Database(url, pool_size=1)
    pings: list[object] = []
    ping = database.writer.dialect.do_ping

    def counted(connection: object) -> bool:
        pings.append(connection)
        return ping(connection)

    database.writer.dialect.do_ping = counted  # type: ignore[method-assign]
    pid_of = text("SELECT pg_backend_pid()")
    try:
        async with database.session(write=False) as session:
            first = await session.scalar(pid_of)
        async with database.session(write=False) as session:
            assert await session.scalar(pid_of) == first
        assert pings == []
        async with other.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.4)
        async with database.session(write=False) as session:
            assert await session.scalar(pid_of) != first
        assert len(pings) == 1
    finally:
        await other.dispose()
        await database.dispose()


def test_a_tables_plain_insert_is_built_once() -> None:
    """Its plan is compiled once for the statement object: one built per call was compiled per
    call (three times the cost of a unit of work with one insert_new, measured)."""
    table = Counter.__table__
    assert insert_of(table) is insert_of(table)  # type: ignore[arg-type]


async def test_insert_new_untracked_is_a_single_statement_unit_of_works_one_statement(
    db: Database,
) -> None:
    """It asks nothing of the ORM (a cart line added in one statement relies on it)."""
    async with db.session(single=True) as session:
        assert await insert_new(session, Counter(name="alone"), track=False)
    async with db.session(write=False) as session:
        assert await session.scalar(select(func.count()).where(Counter.name == "alone")) == 1


async def test_insert_new_refuses_a_sql_default_only_when_it_is_left_unset(
    db: Database,
) -> None:
    async with db.session() as session:
        assert await insert_new(session, Numbered(number=3))
        with pytest.raises(TypeError, match="cannot compute number's default"):
            await insert_new(session, Numbered())
    async with db.session(write=False) as session:
        assert (await session.execute(select(Numbered.number))).scalars().all() == [3]


async def test_insert_new_leaves_unset_columns_null_and_refuses_to_guess_a_server_default(
    db: Database,
) -> None:
    async with db.session() as session:
        with pytest.raises(TypeError, match="server default"):
            await insert_new(session, Labelled())
        made = Labelled(label="set")
        assert await insert_new(session, made)
        assert made.note is None
    async with db.session(write=False) as session:
        stored = await session.scalar(select(func.count()).where(Labelled.note.is_(None)))
    assert stored == 1  # SQL NULL, not JSON 'null'


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 21, 22, 10, 5, 123456, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still written with six digits
        datetime(999, 3, 4, 5, 6, 7, 1, tzinfo=timezone(timedelta(hours=3))),
    ],
)
def test_utc_times_are_written_to_sqlite_as_its_datetime_writes_them(value: datetime) -> None:
    """UTCDateTime's one-step SQLite writer gives exactly the text SQLAlchemy's own DATETIME
    would store for the same instant in UTC (so old and new rows sort and compare alike)."""
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    written = UTCDateTime()._cached_bind_processor(dialect)
    as_sqlalchemy_would = sqlite.DATETIME().bind_processor(dialect)  # type: ignore[no-untyped-call]
    assert written is not None
    assert as_sqlalchemy_would is not None
    expected = as_sqlalchemy_would(value.astimezone(UTC).replace(tzinfo=None))
    assert written(value) == expected
    assert written(None) is None
    with pytest.raises(ValueError, match="naive"):
        written(value.replace(tzinfo=None))


_INSERT_COUNTER = prepared(insert(Counter.__table__))  # type: ignore[arg-type]


async def test_a_single_statement_unit_of_work_is_its_own_transaction_on_postgresql(
    db: Database,
) -> None:
    """On PostgreSQL its statement commits as it runs (no BEGIN, no COMMIT): another reader sees
    it before the block ends, and a failure after it cannot take it back. SQLite ignores
    `single`: the block stays one transaction."""
    row = {"id": uuid.uuid4(), "name": "one", "value": 1}

    async def write_then_fail() -> None:
        async with db.session(single=True) as session:
            await session.execute(_INSERT_COUNTER, row)
            async with db.session(write=False) as reader:
                seen = await reader.scalar(select(func.count()).select_from(Counter))
            assert seen == (1 if db.dialect == "postgresql" else 0)
            raise RuntimeError("after the statement")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    async with db.session(write=False) as session:
        kept = await session.scalar(select(func.count()).select_from(Counter))
    assert kept == (1 if db.dialect == "postgresql" else 0)


async def test_a_single_statement_unit_of_work_refuses_a_second_one_and_the_orm(
    db: Database,
) -> None:
    """Refused on both databases, so that misuse fails in the SQLite suite too."""

    async def two_statements() -> None:
        async with db.session(single=True) as session:
            await session.execute(_INSERT_COUNTER, {"id": uuid.uuid4(), "name": "a"})
            await session.execute(_INSERT_COUNTER, {"id": uuid.uuid4(), "name": "b"})

    async def the_orm() -> None:
        async with db.session(single=True) as session:
            session.add(Counter(name="c"))
            await session.flush()

    async def not_prepared() -> None:
        async with db.session(single=True) as session:
            await session.execute(select(Counter))

    with pytest.raises(InvalidRequestError, match="more than one"):
        await two_statements()
    with pytest.raises(InvalidRequestError, match="ORM"):
        await the_orm()
    with pytest.raises(InvalidRequestError, match="prepared"):
        await not_prepared()
    many = [{"id": uuid.uuid4(), "name": f"m{n}"} for n in range(3)]
    async with db.session(single=True) as session:  # one executemany is one statement
        await session.execute(_INSERT_COUNTER, many)
    async with db.session(write=False) as session:
        names = set((await session.execute(select(Counter.name))).scalars())
    # PostgreSQL: "a" committed as it ran; SQLite: rolled back with its unit of work.
    assert names - {"a"} == {"m0", "m1", "m2"}
    assert ("a" in names) == (db.dialect == "postgresql")
