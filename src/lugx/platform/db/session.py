"""The request scope's unit of work, as FastAPI dependencies.

`scope="function"` makes FastAPI leave the dependency (and so commit) after the endpoint returns
and before the response is sent: a client never sees a success whose commit failed.
Safe methods get a read session; anything else a write session. Work that must only happen once
the data is committed (dropping cache entries) is queued with `after_commit` and run right after
the commit. (The event bus wakes its relay after commit by itself.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AfterCommit = Callable[[], Awaitable[Any]]

log = structlog.get_logger(__name__)


def after_commit(request: Request, callback: AfterCommit) -> None:
    request.state.after_commit = [*getattr(request.state, "after_commit", ()), callback]


async def _run_after_commit(request: Request) -> None:
    for callback in getattr(request.state, "after_commit", ()):
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


async def _scoped(request: Request, *, write: bool) -> AsyncIterator[AsyncSession]:
    async with request.app.state.ctx.db.session(write=write) as session:
        yield session
    if write:
        await _run_after_commit(request)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in _scoped(request, write=request.method not in SAFE_METHODS):
        yield session


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in _scoped(request, write=True):
        yield session


DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
# For the rare safe-method endpoint that must write (e.g. lazily creating a row).
WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
