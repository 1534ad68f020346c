"""Hot statements, compiled once and run straight on the driver's cursor.

Every `session.execute` pays for SQLAlchemy's general machinery: the ORM's execution wrapper,
a cache key walked over the statement, an execution context, a cursor result with its row
metadata, and events. For the checkout's statements that was 250-500 us each against 30 us of
SQLite's own work, over fifty times a journey.

A statement built once (module level or `functools.cache`) and marked with `prepared(...)` runs
instead through a `Plan`: the statement compiled once per dialect and set of parameter names,
its parameters bound with the same processors SQLAlchemy's own execution uses (UUIDs, times,
JSON), its rows read with the same result processors, and its `before_cursor_execute` and
`after_cursor_execute` listeners still told, so the statement counts in tests stay true. What it
returns is a SQLAlchemy `Result`, with `rowcount` for DML.

What a plan cannot do, it leaves to SQLAlchemy: a list of parameter sets (executemany). What it
must not do is refused when the statement is marked: an ORM entity in a SELECT (rows would not
become objects) or DML on an ORM class rather than its table (the session's objects would not be
synchronised).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, Table, util
from sqlalchemy.engine import Connection, Dialect, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.sql.selectable import Select

S = TypeVar("S", bound=Executable)

PREPARED = "lugx_prepared"
_NO_PARAMS: Mapping[str, Any] = util.EMPTY_DICT


def prepared(statement: S) -> S:
    """Mark a statement built once to run as a compiled plan (see the module's docstring)."""
    if isinstance(statement, Select):
        for described in statement.column_descriptions:
            entity = described.get("entity")
            if entity is not None and described.get("expr") is entity:
                raise TypeError(f"a prepared SELECT reads columns, not {entity.__name__} objects")
    elif isinstance(statement, UpdateBase) and not isinstance(statement.table, Table):
        raise TypeError("prepared DML names a table (Model.__table__), not an ORM class")
    return statement.execution_options(**{PREPARED: True})


def is_prepared(statement: Any) -> bool:
    options = getattr(statement, "_execution_options", None)
    return bool(options) and PREPARED in options  # type: ignore[operator]


class PreparedResult(IteratorResult[Any]):
    """A prepared statement's rows, read in full; `rowcount` as the driver counted it."""

    rowcount: int


@dataclass(slots=True)
class Plan:
    compiled: SQLCompiler
    sql: str
    positions: Sequence[str]
    processors: Mapping[str, Callable[[Any], Any]]
    expands: bool  # an IN (...) of a list: the SQL is finished per call
    defaults: Sequence[tuple[str, Callable[[], Any]]]  # python-side column defaults
    metadata: SimpleResultMetaData | None
    row_processors: Sequence[tuple[int, Callable[[Any], Any]]]

    def bind(self, params: Mapping[str, Any]) -> tuple[str, Sequence[Any]]:
        values = self.compiled.construct_params(params, escape_names=False)
        for key, default in self.defaults:
            if key not in params:
                values[key] = default()
        sql, positions, processors = self.sql, self.positions, self.processors
        if self.expands:
            expanded = self.compiled._process_parameters_for_postcompile(values)
            sql, positions = expanded.statement, expanded.positiontup or ()
            processors = {**processors, **expanded.processors}
        return sql, [
            processors[key](values[key]) if key in processors else values[key]
            for key in positions
        ]


_plans: dict[tuple[int, str, tuple[str, ...]], tuple[Executable, Plan]] = {}


def plan_of(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Plan:
    """The statement's plan on this dialect for these parameter names (an INSERT or UPDATE
    writes the columns it is given), made once. The statement is kept with it, so its id
    cannot be reused while the plan lives."""
    key = (id(statement), dialect.name, keys)
    found = _plans.get(key)
    if found is None:
        found = _plans[key] = (statement, _make_plan(statement, dialect, keys))
    return found[1]


def _make_plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler) and compiled.positional, "a positional dialect"
    defaults = [
        (column.key, _default_maker(default))
        for columns, attr in ((compiled.insert_prefetch, "default"), (compiled.update_prefetch, "onupdate"))
        for column in columns
        if (default := getattr(column, attr)) is not None
    ]
    metadata, row_processors = None, []
    if compiled._result_columns:
        names = [entry.keyname for entry in compiled._result_columns]
        metadata = SimpleResultMetaData(names)
        for index, entry in enumerate(compiled._result_columns):
            processor = entry.type._cached_result_processor(dialect, None)
            if processor is not None:
                row_processors.append((index, processor))
    return Plan(
        compiled=compiled,
        sql=compiled.string,
        positions=tuple(compiled.positiontup or ()),
        processors=dict(compiled._bind_processors),
        expands=bool(compiled.literal_execute_params or compiled.post_compile_params),
        defaults=defaults,
        metadata=metadata,
        row_processors=row_processors,
    )


def _default_maker(default: Any) -> Callable[[], Any]:
    if isinstance(default, CallableColumnDefault):
        # The models' callable defaults (uuid4, utcnow) take no context: SQLAlchemy wraps them
        # in a one-argument function that ignores it.
        return lambda: default.arg(None)  # type: ignore[arg-type]
    if isinstance(default, ScalarElementColumnDefault):
        return lambda: default.arg
    raise TypeError(f"a prepared statement cannot compute a {type(default).__name__}")


def run(connection: Connection, plan: Plan, params: Mapping[str, Any] | None) -> Result[Any]:
    """Run the plan on the connection's driver connection, inside its transaction."""
    sql, values = plan.bind(params or _NO_PARAMS)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    events = connection._has_events or connection.engine._has_events
    if events:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
    try:
        try:
            cursor.execute(sql, values)
        except connection.dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy's own execution raises it: IntegrityError and the rest, wrapped.
            raise DBAPIError.instance(
                sql, values, exc, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
            ) from exc
        if events:
            connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        rows: list[Any] = []
        if plan.metadata is not None:
            rows = cursor.fetchall()
            if plan.row_processors:
                rows = [_processed(row, plan.row_processors) for row in rows]
        rowcount = cursor.rowcount
    finally:
        cursor.close()
    result = PreparedResult(plan.metadata or _NO_ROWS, iter(rows))
    result.rowcount = rowcount
    return result


_NO_ROWS = SimpleResultMetaData([])


def _processed(row: Sequence[Any], processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> Any:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return values
