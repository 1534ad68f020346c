"""The body of every service's `migrations/env.py`.

Normally Lugx hands Alembic an open connection (`lugx migrate`, start-up, tests). Run by hand
(`alembic revision --autogenerate`) it connects to the service's configured database itself.
Batch mode is on so ALTERs work on SQLite as well as PostgreSQL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, MetaData

from lugx.platform.db.database import Database
from lugx.platform.db.migrations import version_table
from lugx.platform.settings import get_settings


def _configure_and_run(
    metadata: MetaData,
    service: str,
    *,
    connection: Connection | None = None,
    url: str | None = None,
) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        version_table=version_table(service),
        render_as_batch=True,
        compare_type=True,
        literal_binds=url is not None,  # offline: SQL with the values written in
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(metadata: MetaData, service: str) -> None:
    db = Database(get_settings().database_url(service))
    try:
        async with db.writer.begin() as connection:
            await connection.run_sync(
                lambda sync: _configure_and_run(metadata, service, connection=sync)
            )
    finally:
        await db.dispose()


def run_migrations(metadata: MetaData, service: str) -> None:
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode():
        _configure_and_run(metadata, service, url=get_settings().database_url(service))
    elif connection is not None:
        _configure_and_run(metadata, service, connection=connection)
    else:
        asyncio.run(_run_standalone(metadata, service))
