"""The request scope's unit of work, as FastAPI dependencies.

`scope="function"` makes FastAPI leave the dependency (and so commit) after the endpoint returns
and before the response is sent: a client never sees a success whose commit failed.
Safe methods get a read session; anything else a write session. Work that must wait for the
commit is queued on the session with `lugx.platform.db.after_commit`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    write = request.method not in SAFE_METHODS
    async with request.app.state.ctx.db.session(write=write) as session:
        yield session


async def long_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.ctx.db.session(write=False, long=True) as session:
        yield session


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.ctx.db.session(write=True) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
# For a read that may take milliseconds (a full-text search): off the event loop on SQLite.
LongReadSession = Annotated[AsyncSession, Depends(long_read_session, scope="function")]
# For the rare safe-method endpoint that must write (e.g. lazily creating a row).
WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
