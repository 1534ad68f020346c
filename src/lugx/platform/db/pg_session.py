"""An `AsyncSession` for PostgreSQL whose prepared statements skip SQLAlchemy's asyncio layer.

Through `AsyncSession.execute`, every statement runs in a new greenlet, through the ORM's
execution wrapper, an execution context and a cursor result, with asyncpg reached through an
adapter that waits on it from inside that greenlet: under the checkout benchmark this was most
of the server's time on PostgreSQL. A statement marked `prepared` (prepared.py) runs instead as
its plan, awaited straight on the adapter's cursor coroutine: the same driver call SQLAlchemy
would make (asyncpg's prepared statement cache, BEGIN on first use, the same errors), with
SQLAlchemy's bind and result processors and its cursor events.

The unit of work is the connection's transaction, begun by the Database; an ORM session is made
only when something uses the ORM (as `InlineSession` does on SQLite), and joins it
(`rollback_only`: the session never commits it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, util
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn

from lugx.platform.db.lazy_orm import LazyOrm
from lugx.platform.db.prepared import Plan, is_prepared, plan_for, processed_rows, result_of


class PgSession(LazyOrm, AsyncSession):  # type: ignore[override]
    """AsyncSession over one pooled connection lent to the unit of work, whose transaction it
    commits or rolls back."""

    def __init__(self, lent: LentConnection, *, single: bool = False) -> None:
        # Not AsyncSession.__init__: it makes the ORM session at once, and most units of work
        # (prepared statements only) never use it; making and closing one was 4 % of a checkout.
        self._async_bind = lent.connection
        self._async_binds = {}
        self._lent = lent
        self._held = lent.connection
        self._no_orm_yet(single=single)

    def _orm_connection(self) -> Connection:
        return self._connection

    @property  # type: ignore[misc]
    def bind(self) -> Any:
        return self._held

    def _orm_in_transaction(self) -> bool:
        return self._orm is not None and self._orm.in_transaction()

    async def execute(
        self,
        statement: Any,
        params: Any = None,
        *,
        execution_options: Any = util.EMPTY_DICT,
        bind_arguments: Any = None,
        **kw: Any,
    ) -> Result[Any]:
        if is_prepared(statement) and not (execution_options or bind_arguments or kw):
            orm = self._orm
            if orm is not None and (orm.new or orm.deleted or orm.dirty):
                await self.flush()  # as an ORM statement would: it reads what was added
            if orm is not None and orm.in_nested_transaction():
                await self.connection()  # its SAVEPOINT, if not sent yet, goes before this
            return await self._run_prepared(statement, params)
        self._refuse_if_single()
        result: Result[Any] = await super().execute(
            statement,
            params,
            execution_options=execution_options,
            bind_arguments=bind_arguments,
            **kw,
        )
        return result

    @property
    def _connection(self) -> Connection:
        connection = self._held.sync_connection
        assert connection is not None, "the Database keeps its unit of work's connection open"
        return connection

    async def _run_prepared(self, statement: Any, params: Any) -> Result[Any]:
        """As prepared.run does on SQLite: once, one executemany, or a statement per set."""
        plan, sets = plan_for(statement, self._connection.dialect, params)
        if self._single_left is not None:
            self._take_the_one_statement(plan, sets)
        if sets is not None and plan.executes_many:
            return await self._execute_many(plan, sets)
        rows: list[Any] = []
        rowcount = 0
        for one in sets if sets is not None else [params or {}]:
            rowcount += await self._execute(plan, one, rows)  # asyncpg reuses its statement
        return result_of(plan, rows, rowcount)

    async def _execute(self, plan: Plan, params: Mapping[str, Any], rows: list[Any]) -> int:
        sql, values = plan.bind(params)
        cursor = await self._call(sql, values, many=False)
        if plan.metadata is not None:
            rows.extend(
                processed_rows(
                    plan, cursor.fetchall(), cursor.description, self._connection.dialect
                )
            )
        count: int = cursor.rowcount
        return count

    async def _execute_many(self, plan: Plan, params: list[Any]) -> Result[Any]:
        sets = [plan.bind(one)[1] for one in params]
        cursor = await self._call(plan.sql, sets, many=True)
        return result_of(plan, (), cursor.rowcount)

    async def _call(self, sql: str, values: Any, *, many: bool) -> Any:
        """One driver call on the adapter's cursor (BEGIN first if the transaction has not
        begun), told to the cursor listeners; the cursor."""
        connection = self._connection
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        dispatch = connection.dispatch  # the engine's listeners and the connection's
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, sql, values, None, many)
        dbapi_error = connection.dialect.loaded_dbapi.Error
        try:
            if many:
                await cursor._executemany(sql, values)
            else:
                await cursor._prepare_and_execute(sql, values)
        except dbapi_error as exc:
            # As SQLAlchemy's own execution handles it: wrapped (IntegrityError...), its
            # handle_error listeners told, and a connection found dead thrown away rather than
            # pooled again (which may talk to the driver: in a greenlet, as SQLAlchemy would).
            await greenlet_spawn(connection._handle_dbapi_exception, exc, sql, values, cursor, None)
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, sql, values, None, many)
        return cursor

    async def commit(self) -> None:
        if self._orm_in_transaction():
            await super().commit()  # flushes; the transaction is the connection's
        await self._lent.commit()

    async def rollback(self) -> None:
        self._forget_what_waited_for_the_commit()
        if self._orm_in_transaction():
            await super().rollback()
        await self._lent.rollback()

    async def close(self) -> None:
        """End the ORM session; the connection goes back with the Database."""
        if self._orm is None:
            return
        if self._orm.in_transaction():
            await asyncio.shield(super().close())  # as AsyncSession's own exit shields it
        else:
            self._orm.close()  # nothing to end on the connection: no greenlet needed


class LentConnection:
    """A pooled connection lent to one unit of work, and asyncpg's adapter beneath it.

    The adapter begins a transaction itself, before the first statement (BEGIN), unless set to
    autocommit, as a short read's connection is: at READ COMMITTED each statement reads its own
    snapshot in a transaction or not, and a read takes no locks, so a read is spared BEGIN and
    COMMIT (two round trips). A long read keeps its transaction (the catalog's search plans with
    SET LOCAL, which outside one does nothing). A transaction that only prepared statements used
    is SQLAlchemy's adapter's alone: it is committed or rolled back there, and the connection
    then goes back to the pool without a greenlet (there is nothing to roll back). One the ORM
    used goes through SQLAlchemy's connection, as usual."""

    def __init__(self, connection: AsyncConnection, *, transaction: bool) -> None:
        sync = connection.sync_connection
        assert sync is not None
        self.connection = connection
        self._sync = sync
        adapter: Any = sync.connection.dbapi_connection  # SQLAlchemy's asyncpg adapter
        self._adapter = adapter
        self._level = adapter.isolation_level
        self._closed = False
        if not transaction:
            adapter.isolation_level = "autocommit"

    async def commit(self) -> None:
        if self.connection.in_transaction():
            await self.connection.commit()
        elif self._adapter._transaction is not None:
            await self._adapter._call_and_discard(self._adapter._transaction.commit)

    async def rollback(self) -> None:
        if self.connection.in_transaction():
            await self.connection.rollback()
        elif self._adapter._transaction is not None:
            await self._adapter._call_and_discard(self._adapter._transaction.rollback)

    async def close(self, keep: Callable[[AsyncConnection], bool] | None = None) -> None:
        """Back to the pool, or to `keep` if it takes it (once; closing again does nothing).
        Only a connection with no transaction left, and not found dead, is offered to `keep`."""
        if self._closed:
            return
        self._closed = True
        self._adapter.isolation_level = self._level
        if self.connection.in_transaction() or self._adapter._transaction is not None:
            # Shielded, as AsyncSession's own exit is: a cancelled request still hands its
            # connection back to the pool, rolled back.
            await asyncio.shield(self.connection.close())
        elif keep is not None and not self._sync.invalidated and keep(self.connection):
            return
        else:
            self._sync.close()  # back to the pool; its reset has nothing to roll back


class KeptConnections:
    """PostgreSQL connections kept out of the pool between units of work, as SQLite's are held
    (inline_session.HeldConnections): taking one from the pool and giving it back (a greenlet,
    the pool's bookkeeping and its reset) was about a tenth of the server's work per checkout
    journey on PostgreSQL. At most `size` wait here, the last one given back is lent first
    (it is warm), and one that waited `ping_after` seconds or more is pinged before it is
    lent, as the pool pings a connection that sat idle (database.py, `_ping_when_idle`)."""

    def __init__(self, engine: AsyncEngine, *, size: int, ping_after: float) -> None:
        self._engine = engine
        self._size = size
        self._ping_after = ping_after
        self._idle: list[tuple[AsyncConnection, float]] = []
        self._closed = False

    async def take(self) -> AsyncConnection:
        while self._idle:
            connection, since = self._idle.pop()
            if _outdated(connection):
                await _discard(connection)
                continue
            if time.monotonic() - since < self._ping_after:
                return connection
            try:
                alive = await _alive(connection)
            except BaseException:  # cancelled mid-ping: the connection is not left behind
                await asyncio.shield(_discard(connection))
                raise
            if alive:
                return connection
            await _discard(connection)
        return await self._engine.connect()

    def keep(self, connection: AsyncConnection) -> bool:
        if self._closed or len(self._idle) >= self._size or _outdated(connection):
            return False
        self._idle.append((connection, time.monotonic()))
        return True

    async def close(self) -> None:
        """Give every kept connection back to the pool (before the engine is disposed); none
        is kept after."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _since in idle:
            await connection.close()


def _outdated(connection: AsyncConnection) -> bool:
    """Whether the pool would no longer hand this connection out: closed, invalidated, or made
    before the pool was told its connections had died (a connection found dead makes SQLAlchemy
    recycle every older one at its next checkout; kept ones never pass through a checkout)."""
    sync = connection.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return True
    record = sync.connection._connection_record
    pool: Any = connection.engine.sync_engine.pool
    return record is None or record.starttime < pool._invalidate_time


async def _discard(connection: AsyncConnection) -> None:
    """Throw the connection away (the pool opens a new one when one is needed)."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
        await connection.close()


async def _alive(connection: AsyncConnection) -> bool:
    """Whether the connection answers a ping."""

    def ping(sync: Connection) -> None:
        driver = sync.connection.dbapi_connection
        assert driver is not None
        sync.dialect.do_ping(driver)

    try:
        await connection.run_sync(ping)
    except Exception:
        return False
    return True
