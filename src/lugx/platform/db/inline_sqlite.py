"""An aiosqlite connection that runs every call on the event loop's own thread.

aiosqlite hands each call to a worker thread and waits for its answer: a round trip through a
queue and the event loop per statement. For SQLite's one writer per service that is the wrong
trade. Its statements take microseconds, but every hop yields the loop, and while the writer
waits for its turn to come round again it holds the service's write lock: measured under 16
concurrent checkouts, a write transaction held the lock 25-50 ms for well under 1 ms of SQLite
work, and the lock, not the CPU, capped the platform at 7 checkouts a second.

Run inline, a write transaction never yields between its statements, so the lock is held only
for the work itself. Readers run inline too (their short indexed reads cost less than the hop:
checkouts 7 -> 10 a second in the bench), except in a service with long reads
(`ServiceSpec.long_reads`, the catalog's search), whose readers keep their threads so SQLite
works beside the loop.

The cost: a write blocks the loop while SQLite works, its COMMIT included. In WAL mode with
synchronous=NORMAL a commit only appends to the WAL; what can wait on the disk is the checkpoint
that copies the WAL back into the database, and the writer never runs one itself (its
wal_autocheckpoint is off): `Database` runs them on a thread, beside the loop, every few hundred
commits. Writes are short by design; a long one (a bulk load) belongs in `lugx seed`, not in a
request. SQLite's busy handler can only fire
when another process writes the same file at the same moment (an operator's command while
`lugx up` runs), and then blocks the loop for at most the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its thread (SQLAlchemy's adapter also queues work on
    it directly): each item runs as it is put, and its future is settled there and then."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is None:
                raise
            future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's interface, without its thread: `await` returns at once."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def begin(self, statement: str) -> None:
        """Open a transaction (BEGIN / BEGIN IMMEDIATE) straight on sqlite3: SQLAlchemy's own
        path for a driver statement costs far more than SQLite does, on every transaction."""
        self._conn.execute(statement)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()  # no worker thread to start

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_connector(database: str, *, timeout: float) -> Callable[[], InlineConnection]:
    """An `async_creator` for SQLAlchemy's aiosqlite dialect."""

    def create() -> InlineConnection:
        # Used only from the loop's thread; SQLAlchemy's pool may close it from elsewhere.
        return InlineConnection(
            lambda: sqlite3.connect(database, timeout=timeout, check_same_thread=False)
        )

    return create
