"""Prepared statements (db/prepared.py) run as compiled plans: on SQLite on the driver's cursor,
on PostgreSQL on the asyncpg adapter's (pg_session.py); either way they read and write as
SQLAlchemy would (PostgreSQL when LUGX_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import (
    JSON,
    String,
    Table,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import Executable

from lugx.platform.db import Database, Timestamps, UTCDateTime, UUIDPrimaryKey, new_metadata, utcnow
from lugx.platform.db.inline_session import InlineSession
from lugx.platform.db.pg_session import PgSession
from lugx.platform.db.prepared import detached, prepared
from lugx.platform.db.sql import rowcount, save_changes
from tests.platform.databases import BACKENDS, ONLY_POSTGRES, database_on


class Base(DeclarativeBase):
    metadata = new_metadata()


class Ticket(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "prepared_tickets"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kind: Mapped[str | None] = mapped_column("kind_name", String(10))  # key != column name


TICKETS = cast(Table, Ticket.__table__)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
PLUS_TWO = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

# Built once, as the services build theirs.
INSERT = prepared(insert(TICKETS))
INSERT_RETURNING = prepared(insert(TICKETS).returning(TICKETS.c.id, TICKETS.c.code))
READ = select(
    TICKETS.c.id,
    TICKETS.c.code,
    TICKETS.c.status,
    TICKETS.c.seen_at,
    TICKETS.c.note,
    TICKETS.c.note.is_(None).label("sql_null_note"),
).order_by(TICKETS.c.code)
PREPARED_READ = prepared(READ)
ALL_COLUMNS = prepared(select(TICKETS).order_by(TICKETS.c.code))
SET_STATUS = prepared(
    update(TICKETS)
    .where(TICKETS.c.code == bindparam("wanted"), TICKETS.c.status == "open")
    .values(status=bindparam("new_status"))
)
BY_IDS = select(TICKETS.c.code).where(
    TICKETS.c.id.in_(bindparam("ids", expanding=True)), TICKETS.c.status == "open"
)
PREPARED_BY_IDS = prepared(BY_IDS.order_by(TICKETS.c.code))
ORM_COLUMNS = select(Ticket.kind, Ticket.code).order_by(Ticket.code)
PREPARED_ORM_COLUMNS = prepared(ORM_COLUMNS)
CLOSE_ORM = prepared(
    update(Ticket)
    .where(Ticket.code == bindparam("wanted"))
    .values(status="closed")
    .execution_options(synchronize_session=False)
)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await database_on(request.param, tmp_path, "prepared", Base.metadata)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await database_on("sqlite", tmp_path, "prepared", Base.metadata)
    yield database
    await database.dispose()


async def _rows(db: Database, statement: Executable, params: Any = None) -> Sequence[Row[Any]]:
    async with db.session(write=False) as session:
        return (await session.execute(statement, params)).all()


async def _codes(db: Database) -> list[str]:
    return [row.code for row in await _rows(db, PREPARED_READ)]


async def test_values_round_trip_and_read_as_the_unprepared_statement_reads_them(
    db: Database,
) -> None:
    """UUID, UTC times, JSON and None go in through the bind processors and come back through
    the result processors, stored as SQLAlchemy's own INSERT stores them."""
    ident = uuid.uuid4()
    async with db.session() as session:
        full = {"id": ident, "code": "a", "seen_at": PLUS_TWO, "note": {"k": [1, "x"]}}
        await session.execute(INSERT, full)
        await session.execute(INSERT, {"code": "b", "seen_at": None, "note": None})
        await session.execute(insert(TICKETS), {"code": "c", "seen_at": None, "note": None})
    rows = await _rows(db, PREPARED_READ)
    assert rows == await _rows(db, READ)
    first, prepared_none, plain_none = rows
    assert isinstance(first.id, uuid.UUID)
    assert first.id == ident
    assert first.seen_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert first.seen_at.tzinfo is UTC
    assert first.note == {"k": [1, "x"]}
    assert (prepared_none.seen_at, prepared_none.note) == (None, None)
    assert tuple(prepared_none)[2:] == tuple(plain_none)[2:]  # None stored alike


async def test_a_prepared_select_of_orm_attributes_names_its_columns_as_sqlalchemy_does(
    db: Database,
) -> None:
    """Rows are read by attribute name (`row.kind`), also where the column is named otherwise."""
    async with db.session() as session:
        await session.execute(INSERT, {"code": "a", "kind_name": "dlc"})
    plain, ready = await _rows(db, ORM_COLUMNS), await _rows(db, PREPARED_ORM_COLUMNS)
    assert [tuple(row) for row in ready] == [tuple(row) for row in plain] == [("dlc", "a")]
    assert ready[0]._fields == plain[0]._fields == ("kind", "code")


async def test_literals_and_bindparams_bind_and_a_missing_value_is_refused(db: Database) -> None:
    """`status == "open"` is bound from the statement, `wanted`/`new_status` from the call; a
    missing one is a clear error before anything is written, and the unit of work goes on."""
    async with db.session() as session:
        await session.execute(INSERT, [{"code": code} for code in ("a", "b", "c")])
    async with db.session() as session:
        closing = {"wanted": "b", "new_status": "closed"}
        assert rowcount(await session.execute(SET_STATUS, closing)) == 1
        assert rowcount(await session.execute(SET_STATUS, closing)) == 0  # no longer "open"
        with pytest.raises(SQLAlchemyError, match="value is required for bind parameter 'new_s"):
            await session.execute(SET_STATUS, {"wanted": "c"})
        assert rowcount(await session.execute(SET_STATUS, {"wanted": "a", "new_status": "x"})) == 1
    statuses = {row.code: row.status for row in await _rows(db, PREPARED_READ)}
    assert statuses == {"a": "x", "b": "closed", "c": "open"}


async def test_expanding_in_binds_one_and_several_values(db: Database) -> None:
    """The IN list is finished per call (its UUIDs processed), whatever its length."""
    ids = {code: uuid.uuid4() for code in "abcd"}
    async with db.session() as session:
        await session.execute(INSERT, [{"id": ids[code], "code": code} for code in "abcd"])
        await session.execute(SET_STATUS, {"wanted": "d", "new_status": "closed"})
    for wanted, expected in [("a", ["a"]), ("abd", ["a", "b"]), ("c", ["c"])]:
        params = {"ids": [ids[code] for code in wanted]}
        found = [row.code for row in await _rows(db, PREPARED_BY_IDS, params)]
        assert found == expected
        assert sorted(row.code for row in await _rows(db, BY_IDS, params)) == expected


async def test_python_side_defaults_and_onupdate_fill_columns_not_given(db: Database) -> None:
    """An INSERT gets its id, status and timestamps from the model's defaults; an UPDATE its
    updated_at from `onupdate`, leaving created_at alone."""
    start = utcnow()
    async with db.session() as session:
        await session.execute(INSERT, {"code": "fresh"})
        await session.execute(
            INSERT, {"code": "old", "created_at": LONG_AGO, "updated_at": LONG_AGO}
        )
    before_update = utcnow()
    async with db.session() as session:
        await session.execute(SET_STATUS, {"wanted": "old", "new_status": "closed"})
    fresh, old = (detached(Ticket, row) for row in await _rows(db, ALL_COLUMNS))
    assert isinstance(fresh.id, uuid.UUID)
    assert fresh.status == "open"
    assert start <= fresh.created_at <= before_update
    assert start <= fresh.updated_at <= before_update
    assert (old.status, old.created_at) == ("closed", LONG_AGO)
    assert old.updated_at >= before_update


async def test_a_list_of_parameter_sets_writes_each_and_returns_a_row_per_set(
    db: Database,
) -> None:
    """Several sets: one executemany (on SQLite, rowcount of all), or with RETURNING a row for
    each."""
    async with db.session() as session:
        written = await session.execute(INSERT, [{"code": f"m{i}"} for i in range(3)])
        returned = (
            await session.execute(INSERT_RETURNING, [{"code": f"r{i}"} for i in range(3)])
        ).all()
    if db.sqlite:  # asyncpg's executemany reports no count (-1), through SQLAlchemy too
        assert rowcount(written) == 3
    assert sorted(code for _, code in returned) == ["r0", "r1", "r2"]
    stored = {row.code: row.id for row in await _rows(db, PREPARED_READ)}
    assert sorted(stored) == ["m0", "m1", "m2", "r0", "r1", "r2"]
    assert len(set(stored.values())) == 6  # a default id per set
    assert {code: ident for ident, code in returned} == {c: stored[c] for c in ("r0", "r1", "r2")}


@pytest.mark.parametrize("many", [False, True], ids=["one-by-one", "executemany"])
async def test_a_unique_violation_is_an_integrity_error_and_nothing_is_written(
    db: Database, many: bool
) -> None:
    """The driver's error comes wrapped as SQLAlchemy's, and the unit of work rolls back."""

    async def write_twice() -> None:
        async with db.session() as session:
            await session.execute(INSERT, {"code": "first"})
            if many:
                await session.execute(INSERT, [{"code": "dup"}, {"code": "dup"}])
            else:
                await session.execute(INSERT, {"code": "dup"})
                await session.execute(INSERT, {"code": "dup"})

    with pytest.raises(IntegrityError):
        await write_twice()
    assert await _codes(db) == []


async def test_cursor_listeners_see_prepared_statements(db: Database) -> None:
    """Listeners on the session engine (added after its connections are open) are told of
    each prepared statement, before and after it runs."""
    await _rows(db, PREPARED_READ)
    async with db.session() as session:
        await session.execute(INSERT, {"code": "warm"})
    seen: list[tuple[str, str]] = []

    def listener(when: str) -> Callable[..., None]:
        def told(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if TICKETS.name in statement:
                seen.append((when, statement.split()[0]))

        return told

    engine = db.session_engine(write=True)
    before, after = listener("before"), listener("after")
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        async with db.session() as session:
            await session.execute(INSERT, {"code": "a"})
            await session.execute(SET_STATUS, {"wanted": "a", "new_status": "closed"})
            await session.execute(INSERT, [{"code": "b"}, {"code": "c"}])
            assert len((await session.execute(PREPARED_READ)).all()) == 4
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    kinds = ["INSERT", "UPDATE", "INSERT", "SELECT"]
    assert [what for when, what in seen if when == "before"] == kinds
    assert [what for when, what in seen if when == "after"] == kinds


@pytest.mark.parametrize(
    "build",
    [
        lambda: select(Ticket),
        lambda: select(Ticket.code, Ticket),
        lambda: update(Ticket).returning(Ticket),
        lambda: update(Ticket).values(status="x"),
        lambda: delete(Ticket),
    ],
    ids=["select-entity", "select-with-entity", "returning-entity", "update-orm", "delete-orm"],
)
def test_prepared_refuses_what_would_not_read_or_write_as_the_orm_does(
    build: Callable[[], Executable],
) -> None:
    """Entities in a SELECT or RETURNING (rows would not become objects), and DML on an ORM
    class that would synchronise the session, are refused when the statement is marked."""
    with pytest.raises(TypeError):
        prepared(build())


async def test_prepared_dml_on_an_orm_class_runs_when_told_not_to_synchronize(
    db: Database,
) -> None:
    """`update(Model)` with synchronize_session=False is accepted, and runs on both."""
    prepared(update(TICKETS))
    prepared(select(Ticket.code))
    async with db.session() as session:
        await session.execute(INSERT, [{"code": "a"}, {"code": "b"}])
        assert rowcount(await session.execute(CLOSE_ORM, {"wanted": "a"})) == 1
    statuses = {row.code: row.status for row in await _rows(db, PREPARED_READ)}
    assert statuses == {"a": "closed", "b": "open"}


async def test_an_orm_session_is_made_only_when_the_orm_is_used(db: Database) -> None:
    """Prepared statements alone need no ORM Session (on either database); `add` makes one,
    its row flushed before a prepared read of the same unit of work, and committed."""
    async with db.session() as session:
        assert isinstance(session, InlineSession | PgSession)
        await session.execute(INSERT, {"code": "a"})
        assert len((await session.execute(PREPARED_READ)).all()) == 1
        assert session._orm is None
        session.info["seen"] = True  # the unit of work's own, with or without an ORM session
        assert session._orm is None
    async with db.session() as session:
        assert isinstance(session, InlineSession | PgSession)
        session.add(Ticket(code="orm"))
        assert [row.code for row in (await session.execute(PREPARED_READ)).all()] == ["a", "orm"]
        assert session._orm is not None
    assert await _codes(db) == ["a", "orm"]


@pytest.mark.parametrize("failure", ["raised", "integrity"])
async def test_sqlite_a_failed_unit_of_work_rolls_back_and_its_connection_works_on(
    sqlite_db: Database, failure: str
) -> None:
    """The held connection that saw the failure is handed to the next unit of work, which
    commits normally."""
    connections = []

    async def fail() -> None:
        async with sqlite_db.session() as session:
            assert isinstance(session, InlineSession)
            connections.append(session._connection)
            await session.execute(INSERT, {"code": "lost"})
            if failure == "integrity":
                await session.execute(INSERT, {"code": "lost"})
            raise RuntimeError("boom")

    with pytest.raises(IntegrityError if failure == "integrity" else RuntimeError):
        await fail()
    async with sqlite_db.session() as session:
        assert isinstance(session, InlineSession)
        connections.append(session._connection)
        await session.execute(INSERT, {"code": "kept"})
    assert connections[0] is connections[1]
    assert await _codes(sqlite_db) == ["kept"]


async def test_detached_builds_a_detached_object_equal_to_its_row(db: Database) -> None:
    """Each attribute is its column's value (by column name), and the object has an identity
    but no session."""
    values = {"code": "d", "kind_name": "dlc", "seen_at": PLUS_TWO, "note": {"a": 1}}
    async with db.session() as session:
        await session.execute(INSERT, values)
    async with db.session(write=False) as session:
        row = (await session.execute(ALL_COLUMNS)).one()
        ticket = detached(Ticket, row)
    state = sa_inspect(ticket)
    assert state.detached
    assert state.identity == (row.id,)
    for attr in state.mapper.column_attrs:
        assert getattr(ticket, attr.key) == row._mapping[attr.columns[0].name], attr.key
    assert (ticket.kind, ticket.seen_at, ticket.note) == ("dlc", PLUS_TWO, {"a": 1})


async def test_save_changes_writes_what_changed_on_a_detached_or_a_session_object(
    db: Database,
) -> None:
    """save_changes writes only a detached object's changed columns and its onupdate ones (on
    the object too), by primary key; unchanged, it runs nothing. An object of the session is
    flushed, once."""
    async with db.session() as session:
        await session.execute(INSERT, {"code": "a", "created_at": LONG_AGO, "updated_at": LONG_AGO})
        await session.execute(INSERT, {"code": "b", "created_at": LONG_AGO, "updated_at": LONG_AGO})
    async with db.session() as session:
        row = (await session.execute(ALL_COLUMNS)).first()
        ticket = detached(Ticket, row)
        ticket.status, ticket.kind = "closed", "bug"
        await save_changes(session, ticket)
        assert ticket.updated_at > LONG_AGO  # the onupdate value, on the object as well
        assert not sa_inspect(ticket).attrs.status.history.added
        seen: list[str] = []
        engine = db.session_engine(write=True)
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            await save_changes(session, ticket)  # nothing changed since: no statement
            other = await session.get(Ticket, (await _rows(db, ALL_COLUMNS))[1].id)
            assert other is not None
            other.note = {"seen": True}
            await save_changes(session, other)
            await session.flush()  # the ORM has nothing left to write for it
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        assert sum(sql.lstrip().upper().startswith("UPDATE") for sql in seen) == 1, seen
    stored = {r.code: r for r in await _rows(db, ALL_COLUMNS)}
    assert (stored["a"].status, stored["a"].kind_name) == ("closed", "bug")
    assert stored["a"].created_at == LONG_AGO
    assert stored["a"].updated_at == ticket.updated_at
    assert (stored["b"].status, stored["b"].note) == ("open", {"seen": True})


async def _insert_twice(db: Database, code: str) -> None:
    async with db.session() as session:
        await session.execute(INSERT, {"code": code})
        await session.execute(INSERT, {"code": code})


NOW = prepared(select(func.now().label("now")))  # a transaction's start time, or the statement's


@ONLY_POSTGRES
async def test_postgres_reads_run_outside_a_transaction_and_writes_inside_one() -> None:
    """A read unit of work sends no BEGIN (now() moves between its statements: each is its own
    transaction); a write's statements share one transaction (now() stands still), and so do a
    long read's (the catalog's search sets SET LOCAL in it); every way the connection is given
    back afterwards without a transaction, kept for the next unit of work."""
    db = await database_on("postgresql", Path(), "prepared", Base.metadata)
    pool = db.writer.sync_engine.pool
    try:
        for write, long, moves in (
            (False, False, True),
            (True, False, False),
            (False, True, False),
        ):
            async with db.session(write=write, long=long) as session:
                first = (await session.execute(NOW)).scalar_one()
                await asyncio.sleep(0.01)
                second = (await session.execute(NOW)).scalar_one()
            assert (second > first) is moves, f"write={write}, long={long}"
            assert _kept_idle(db) == pool.checkedout() == 1  # type: ignore[attr-defined]
        with pytest.raises(IntegrityError):  # a write that fails: rolled back, connection back
            await _insert_twice(db, "kept-out")
        assert _kept_idle(db) == pool.checkedout() == 1  # type: ignore[attr-defined]
        assert "kept-out" not in await _codes(db)
    finally:
        await db.dispose()


def _kept_idle(db: Database) -> int:
    """How many connections the Database keeps between units of work; each must be idle."""
    assert db._kept is not None
    kept = [connection for connection, _since in db._kept._idle]
    for connection in kept:
        adapter: Any = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        assert not connection.in_transaction()
        assert adapter._transaction is None
        assert adapter.isolation_level != "autocommit"  # a read's setting does not outlive it
    return len(kept)


@ONLY_POSTGRES
async def test_postgres_keeps_connections_between_units_of_work() -> None:
    """A unit of work gets the connection the last one gave back (no trip through the pool);
    at most pool_size wait; one that fails its statement is not kept."""
    db = await database_on("postgresql", Path(), "kept", Base.metadata, pool_size=2)
    pid_of = text("SELECT pg_backend_pid()")
    try:
        async with db.session(write=False) as session:
            first = await session.scalar(pid_of)
        async with db.session() as session:
            assert await session.scalar(pid_of) == first

        async def hold(ready: asyncio.Event, go: asyncio.Event) -> None:
            async with db.session(write=False) as session:
                await session.scalar(pid_of)
                ready.set()
                await go.wait()

        go = asyncio.Event()
        readies = [asyncio.Event() for _ in range(4)]
        holders = [asyncio.create_task(hold(ready, go)) for ready in readies]
        for ready in readies:
            await ready.wait()  # four at once: two kept, two more from the pool
        go.set()
        await asyncio.gather(*holders)
        assert _kept_idle(db) == 2
        assert db.writer.sync_engine.pool.checkedout() == 2  # type: ignore[attr-defined]

        with pytest.raises(DBAPIError):
            async with db.session() as session:
                await session.execute(text("SELECT 1/0"))
        assert _kept_idle(db) == 2  # rolled back: kept again, without its transaction
    finally:
        await db.dispose()
    assert db.writer.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_sqlite_reads_run_outside_a_transaction_and_writes_inside_one(
    sqlite_db: Database,
) -> None:
    """On SQLite as on PostgreSQL, a read's prepared statements run without BEGIN (the driver's
    connection holds no transaction between them) and a write's inside one; a read that uses the
    ORM begins one for it."""

    def in_transaction(session: Any) -> bool:
        driver = session.get_bind().connection.driver_connection
        return bool(driver.in_transaction)

    for write in (False, True):
        async with sqlite_db.session(write=write) as session:
            await session.execute(PREPARED_READ)
            assert in_transaction(session) is write, f"write={write}"
    async with sqlite_db.session(write=False) as session:
        await session.execute(READ)  # not prepared: through the ORM's session
        assert in_transaction(session)


@ONLY_POSTGRES
async def test_postgres_a_connection_found_dead_by_a_prepared_statement_is_not_pooled_again() -> (
    None
):
    """The server drops a pooled connection (a restart, a failover): the next prepared
    statement on it fails once, as SQLAlchemy's own would, and the connection is thrown away
    rather than handed out again, so the unit of work after it succeeds."""
    db = await database_on("postgresql", Path(), "prepared", Base.metadata)
    other = Database(db.url, pool_size=1)
    pid_of = prepared(select(func.pg_backend_pid()))
    try:
        async with db.session(write=False) as session:
            doomed = (await session.execute(pid_of)).scalar_one()
        async with other.session() as session:
            await session.execute(select(func.pg_terminate_backend(doomed)))
        with pytest.raises(DBAPIError) as failed:
            await _read_pid(db, pid_of)
        assert failed.value.connection_invalidated
        assert await _read_pid(db, pid_of) != doomed
    finally:
        await db.dispose()
        await other.dispose()


async def _read_pid(db: Database, statement: Executable) -> int:
    async with db.session(write=False) as session:
        pid: int = (await session.execute(statement)).scalar_one()
    return pid


ORPHAN = prepared(text("INSERT INTO prepared_children (parent_id) VALUES (:parent)"))


async def test_sqlite_a_failed_commit_leaves_the_writer_usable(sqlite_db: Database) -> None:
    """A COMMIT that fails (here a deferred foreign key; a full disk alike) rolls the unit of
    work back, and the one writer connection serves the next unit of work."""
    async with sqlite_db.writer.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE prepared_parents (id INTEGER PRIMARY KEY)")
        await conn.exec_driver_sql(
            "CREATE TABLE prepared_children (id INTEGER PRIMARY KEY, parent_id INTEGER"
            " REFERENCES prepared_parents (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await _write(sqlite_db, ORPHAN, {"parent": 42})
    await _write(sqlite_db, INSERT, {"code": "after"})
    assert await _codes(sqlite_db) == ["after"]


async def _write(db: Database, statement: Executable, params: dict[str, Any]) -> None:
    async with db.session() as session:
        await session.execute(statement, params)


async def test_sqlite_a_unit_of_work_refuses_statements_once_it_has_ended(
    sqlite_db: Database,
) -> None:
    """After its block, a session's connection serves other units of work: a late statement
    through it is refused rather than run inside someone else's transaction."""
    async with sqlite_db.session(write=False) as ended:
        await ended.execute(PREPARED_READ)
    for statement in (PREPARED_READ, READ):
        with pytest.raises(InvalidRequestError, match="ended"):
            await ended.execute(statement)


async def test_a_savepoint_covers_the_prepared_statements_inside_it(db: Database) -> None:
    """A prepared statement is the first thing run in a savepoint (the ORM sends SAVEPOINT only
    when it first needs the connection): rolling the savepoint back still undoes it."""
    async with db.session() as session:
        savepoint = await session.begin_nested()
        await session.execute(INSERT, {"code": "undone"})
        await savepoint.rollback()
        await session.execute(INSERT, {"code": "kept"})
    assert await _codes(db) == ["kept"]


@ONLY_POSTGRES
async def test_postgres_drops_kept_connections_once_one_was_found_dead() -> None:
    """PostgreSQL restarted (every backend killed): the first unit of work fails on its dead
    connection, and the others kept from before are thrown away unused, as the pool recycles
    its older connections then, instead of each failing a unit of work in turn."""
    db = await database_on("postgresql", Path(), "dropped", Base.metadata, pool_size=3)
    killer = Database(db.url, pool_size=1)
    pid_of = text("SELECT pg_backend_pid()")
    try:
        go = asyncio.Event()

        async def hold(pids: list[int]) -> None:
            async with db.session(write=False) as session:
                pids.append(await session.scalar(pid_of))
                await go.wait()

        pids: list[int] = []
        holders = [asyncio.create_task(hold(pids)) for _ in range(3)]
        while len(pids) < 3:
            await asyncio.sleep(0.01)
        go.set()
        await asyncio.gather(*holders)
        assert _kept_idle(db) == 3
        async with killer.session() as session:
            for pid in pids:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)
        failures = 0
        for _ in range(5):
            try:
                async with db.session(write=False) as session:
                    assert await session.scalar(pid_of) not in pids
            except DBAPIError:
                failures += 1
        assert failures == 1
    finally:
        await killer.dispose()
        await db.dispose()
