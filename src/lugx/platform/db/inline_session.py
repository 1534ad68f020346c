"""An `AsyncSession` for SQLite whose work runs straight on a synchronous `Session`.

SQLite's units of work run on the loop's own thread: its statements take microseconds, while a
hop to a thread and back costs more and, under load, waits its turn on the busy loop, with the
writer holding its service's write lock all the while (see database.py). With nothing to wait
for, SQLAlchemy's asyncio extension is pure cost: it runs each session call (execute, flush,
commit, ...) in a new greenlet, and each call the driver makes in it through another switch and
an adapter. Measured on one indexed read of ten rows: 275 us through AsyncSession against 150 us
through a plain `Session` on sqlite3; 58 against 20 us for a unit of work that does nothing.

`InlineSession` keeps AsyncSession's interface, so services write the same code for SQLite
and PostgreSQL, and calls the synchronous session beneath it directly for everything a unit of
work does on the hot path. What it does not override still works, through AsyncSession's own
greenlet (the synchronous session never needs one, but accepts it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, util
from sqlalchemy.engine import Result
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.lazy_orm import LazyOrm
from lugx.platform.db.prepared import is_prepared, plan_for, run

# As AsyncSession asks: results come back buffered, readable after the session has closed.
_EXECUTE_OPTIONS = util.immutabledict({"prebuffer_rows": True})


class BulkConnection:
    """What `await session.connection()` gives bulk writers (seeding): only `execute` and
    `exec_driver_sql`, awaitable, on the session's own synchronous connection (not an
    AsyncConnection: nothing else of one is there)."""

    def __init__(self, connection: Connection) -> None:
        self.sync_connection = connection

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        return self.sync_connection.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self.sync_connection.exec_driver_sql(statement, parameters)


class InlineSession(LazyOrm, AsyncSession):  # type: ignore[override]
    """AsyncSession's interface over one held sqlite3 connection, on the loop's thread: nothing
    here yields to the loop.

    A writer's unit of work is the connection's own transaction (begun at the first statement).
    A reader's prepared statements run without one, each reading its own snapshot, as they do on
    PostgreSQL at READ COMMITTED (pg_session.py): BEGIN and COMMIT bought nothing more there. An
    ORM `Session` is made only when something needs one (an ORM query, `add`, `get`, `flush`);
    it joins the transaction (a reader's begins then) and never ends it itself. A unit of work
    that runs only prepared statements (prepared.py) never makes one: SQLAlchemy's session and
    transaction bookkeeping cost about 110 us a unit of work, several times what SQLite spends
    on it."""

    def __init__(self, connection: Connection, *, write: bool = True, single: bool = False) -> None:
        # Not AsyncSession.__init__: it asks for asyncio engines, and there are none below.
        self._async_bind = None
        self._async_binds = {}
        self._write = write
        self._ended = False
        self._connection = connection
        # `single`: still one transaction here, but held to the one statement PostgreSQL runs
        # as its own, so that misuse fails on SQLite too.
        self._no_orm_yet(single=single)

    def _orm_connection(self) -> Connection:
        return self._begun()

    @property  # type: ignore[misc]
    def bind(self) -> Any:
        """The synchronous engine beneath (AsyncSession would name an asyncio one)."""
        return self._connection.engine

    def get_bind(self, *args: Any, **kw: Any) -> Any:
        return self._connection

    def _live(self) -> Connection:
        """The connection, while the unit of work lasts: after it, the Database lends the
        connection to another, which a late statement here would run inside."""
        if self._ended:
            raise InvalidRequestError("This unit of work has ended")
        return self._connection

    def _begun(self) -> Connection:
        connection = self._live()
        if not connection.in_transaction():
            connection.begin()  # BEGIN, or BEGIN IMMEDIATE on the writer (database.py)
        return connection

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
            return self._run_prepared(statement, params)
        self._refuse_if_single()
        options = (
            util.immutabledict(execution_options).union(_EXECUTE_OPTIONS)
            if execution_options
            else _EXECUTE_OPTIONS
        )
        return self.sync_session.execute(
            statement,
            params=params,
            execution_options=options,
            bind_arguments=bind_arguments,
            **kw,
        )

    def _run_prepared(self, statement: Any, params: Any) -> Result[Any]:
        if self._orm is not None:
            self._orm._autoflush()  # as an ORM statement would: it reads what was added
            if self._orm.in_nested_transaction():
                self._orm.connection()  # its SAVEPOINT, if not sent yet, goes before this
        connection = self._begun() if self._write else self._live()
        plan, sets = plan_for(statement, connection.dialect, params)
        if self._single_left is not None:
            self._take_the_one_statement(plan, sets)
        return run(connection, plan, params or {}, sets)

    async def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        return (await self.execute(statement, params, **kw)).scalar()

    async def get(self, entity: Any, ident: Any, **kw: Any) -> Any:
        return self.sync_session.get(entity, ident, **kw)

    async def delete(self, instance: object) -> None:
        self.sync_session.delete(instance)

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        self.sync_session.flush(objects=objects)

    async def commit(self) -> None:
        if self._orm is not None:
            self._orm.commit()  # flushes; the transaction is the connection's
        if self._connection.in_transaction():
            self._connection.commit()

    async def rollback(self) -> None:
        self._forget_what_waited_for_the_commit()
        if self._orm is not None:
            self._orm.rollback()
        # Not in_transaction(): a transaction whose COMMIT failed is no longer "in" one, yet
        # still set on the connection, and must be rolled back to free it.
        if self._connection.get_transaction() is not None:
            self._connection.rollback()

    async def close(self) -> None:
        """End the ORM session (its objects stay readable, detached); the connection goes back
        to the Database, which holds it."""
        if self._orm is not None:
            self._orm.close()
            self._orm = None
        if self._connection.get_transaction() is not None:
            self._connection.rollback()
        self._ended = True

    async def connection(self, **kw: Any) -> Any:  # type: ignore[override]
        return BulkConnection(self._begun())


class HeldConnections:
    """SQLite's inline connections, taken from their engine once and kept between units of
    work: a pool's checkout and return, with its events, cost more than the transaction. At
    most as many as the Database lets units of work run at once (one writer, its readers'
    slots)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._idle: list[Connection] = []

    def take(self) -> Connection:
        return self._idle.pop() if self._idle else self.engine.connect()

    def give_back(self, connection: Connection) -> None:
        """Keep the connection for the next unit of work, unless it is broken or still holds a
        transaction (SQLAlchemy's, or the driver's: a COMMIT that failed can leave either);
        then it is thrown away, and a new one is opened when needed."""
        if not (connection.invalidated or connection.closed):
            driver = connection.connection.driver_connection
            if connection.get_transaction() is None and not getattr(
                driver, "in_transaction", False
            ):
                self._idle.append(connection)
                return
            connection.invalidate()
        connection.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
