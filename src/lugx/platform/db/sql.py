"""The little dialect-specific SQL the platform and the services need, for SQLite and
PostgreSQL alike: inserts that may conflict, new rows written without the ORM's flush, rows
matched, plain UUIDs from any driver."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Column, Insert, Table, Update, bindparam, insert, inspect, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import Executable

from lugx.platform.db.prepared import default_maker, mark_detached, model_columns, prepared


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


async def insert_new(
    session: AsyncSession, row: Any, *, unless_taken: bool = False, track: bool = True
) -> bool:
    """Write a new ORM object as one plain INSERT, without the ORM's flush (a unit-of-work pass
    costs about as much again as the statement). Columns left unset get their model defaults
    (ids, timestamps) or NULL, on the object too, which then belongs to the session as if read
    from the table: later changes to it are UPDATEs. A column with only a server default must
    be set (the object could not say what the table holds). IntegrityError when a unique key
    says no; with `unless_taken`, False instead, nothing written and the transaction still usable
    (`ON CONFLICT DO NOTHING`; on PostgreSQL it waits for the other writer to commit, so the
    winner's row is readable right after). Relationships are not followed. `track=False`: the
    object stays the caller's, detached (nothing changes it after; on SQLite a unit of work that
    needs no ORM session then makes none)."""
    table, values = new_row_values(row)
    if unless_taken:
        statement = _insert_unless_taken(session.get_bind().dialect.name, table)
    else:  # asks nothing of the ORM: a single-statement unit of work may run it
        statement = insert_of(table)
    if rowcount(await session.execute(statement, values)) != 1:
        return False
    mark_detached(row)
    if track:
        session.add(row)
    return True


def new_row_values(row: Any) -> tuple[Table, dict[str, Any]]:
    """A new ORM object's table and the values of its row, as `insert_new` writes them: columns
    left unset get their model defaults (on the object too) or NULL."""
    model: Any = type(row)
    table, columns = _insert_columns(model)
    given = inspect(row).dict
    values = {}
    for key, name, make in columns:
        if key in given:
            values[name] = given[key]
        elif make is not None:
            values[name] = made = make()
            setattr(row, key, made)
        else:  # left out, as the ORM leaves it: SQL NULL (a JSON column's too)
            setattr(row, key, None)
    return table, values


async def save_changes(session: AsyncSession, row: Any) -> None:
    """Write what changed on a detached ORM object (`prepared.detached`) since it was read, as
    one UPDATE by its primary key (its `onupdate` columns too, on the object as well), without
    the ORM's flush; then the object counts as read again. Relationships are not followed. An
    object of the session is flushed, as the ORM would."""
    state = inspect(row)
    if state.session is not None:
        await session.flush()
        return
    table = cast(Table, type(row).__table__)
    columns = list(zip(state.mapper.column_attrs.keys(), model_columns(type(row)), strict=True))
    history = state.attrs
    changed = {name: added[0] for name, _ in columns if (added := history[name].history.added)}
    if not changed:
        return
    for name, column in columns:  # what the ORM's flush would also write
        if column.onupdate is not None and name not in changed:
            changed[name] = default_maker(column.onupdate)()
    values = {column.name: changed[name] for name, column in columns if name in changed}
    key = state.identity[0] if state.identity else None
    written = await session.execute(_update_by_key(table), {**values, _KEY: key})
    if rowcount(written) != 1:  # as the ORM's flush refuses it
        raise StaleDataError(f"{table.name} {key} is gone; nothing was saved")
    for name, value in changed.items():
        set_committed_value(row, name, value)


_KEY = "row_key_"  # no column's name


@functools.cache
def _update_by_key(table: Table) -> Update:
    (key,) = table.primary_key.columns
    return prepared(update(table).where(key == bindparam(_KEY)))


@functools.cache
def _insert_columns(model: Any) -> tuple[Table, list[tuple[str, str, Callable[[], Any] | None]]]:
    """A model's table and, for each column attribute, its key, its column's name and its
    python-side default (a function of nothing), worked out once per class."""
    table = cast(Table, model.__table__)
    columns: list[tuple[str, str, Callable[[], Any] | None]] = []
    mapper: Mapper[Any] = inspect(model)
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if not isinstance(column, Column) or column.table is not table:
            raise TypeError(f"insert_new writes table columns only, not {attr.key}")
        if column.server_default is not None:
            columns.append((attr.key, column.name, _needs_setting(attr.key)))
        elif column.default is not None:
            columns.append((attr.key, column.name, _default_or_refusal(attr.key, column)))
        else:
            columns.append((attr.key, column.name, None))
    return table, columns


def _default_or_refusal(key: str, column: Column[Any]) -> Callable[[], Any]:
    """The column's python-side default; a SQL one (a sequence, an expression) refuses only
    when the column is left unset, as `_needs_setting` does."""
    try:
        return default_maker(column.default)
    except TypeError as exc:
        message = f"insert_new cannot compute {key}'s default ({exc}): set it"

        def refuse() -> Any:
            raise TypeError(message)

        return refuse


def _needs_setting(key: str) -> Callable[[], Any]:
    def refuse() -> Any:
        raise TypeError(f"insert_new cannot know {key}'s server default: set it")

    return refuse


@functools.cache
def insert_of(table: Table) -> Insert:
    """A plain INSERT into `table`, built once: its values go as parameters (building and keying
    a statement around them costs about as much as running it)."""
    return prepared(insert(table))


@functools.cache
def _insert_unless_taken(dialect: str, table: Table) -> Executable:
    return prepared(insert_with_conflicts(dialect, table).on_conflict_do_nothing())
