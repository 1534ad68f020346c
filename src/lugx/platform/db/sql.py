"""The little dialect-specific SQL the platform and the services need, for SQLite and
PostgreSQL alike: inserts that may conflict, rows matched, plain UUIDs from any driver."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result


def insert_with_conflicts(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports `ON CONFLICT ... DO NOTHING / DO UPDATE` on this dialect."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Lugx supports SQLite and PostgreSQL, not {dialect}")


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an INSERT/UPDATE/DELETE."""
    return cast("CursorResult[Any]", result).rowcount


def plain_uuid(value: uuid.UUID) -> uuid.UUID:
    """A driver's UUID subclass (asyncpg's) as a plain `uuid.UUID`."""
    return value if type(value) is uuid.UUID else uuid.UUID(int=value.int)
