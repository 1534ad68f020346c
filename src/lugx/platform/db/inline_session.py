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

from sqlalchemy import Connection, util
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

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


class InlineSession(AsyncSession):
    """AsyncSession's interface over a synchronous `Session` whose connections run on the
    loop's thread: nothing here yields to the loop."""

    def __init__(self, sync_session: Session) -> None:
        # Not AsyncSession.__init__: it asks for asyncio engines, and there are none below.
        self._async_bind = None
        self._async_binds = {}
        self.sync_session = self._proxied = self._assign_proxied(sync_session)

    @property  # type: ignore[misc]
    def bind(self) -> Any:
        """The synchronous engine beneath (AsyncSession would name an asyncio one)."""
        return self.sync_session.bind

    async def execute(
        self,
        statement: Any,
        params: Any = None,
        *,
        execution_options: Any = util.EMPTY_DICT,
        bind_arguments: Any = None,
        **kw: Any,
    ) -> Result[Any]:
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

    async def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        return (await self.execute(statement, params, **kw)).scalar()

    async def get(self, entity: Any, ident: Any, **kw: Any) -> Any:
        return self.sync_session.get(entity, ident, **kw)

    async def delete(self, instance: object) -> None:
        self.sync_session.delete(instance)

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        self.sync_session.flush(objects=objects)

    async def commit(self) -> None:
        self.sync_session.commit()

    async def rollback(self) -> None:
        self.sync_session.rollback()

    async def close(self) -> None:
        self.sync_session.close()

    async def connection(self, **kw: Any) -> Any:  # type: ignore[override]
        return BulkConnection(self.sync_session.connection(**kw))
