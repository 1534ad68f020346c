"""Hot statements, compiled once and run straight on the driver's cursor.

Every `session.execute` pays for SQLAlchemy's general machinery: the ORM's execution wrapper,
a cache key walked over the statement, an execution context, a cursor result with its row
metadata, and events. For the checkout's statements that was 250-500 us each against 30 us of
SQLite's own work, over fifty times a journey.

A statement built once (module level or `functools.cache`) and marked with `prepared(...)` runs
instead through a `Plan`: the statement compiled once per dialect and set of parameter names
(an IN list's SQL once per length), its parameters bound with the same processors SQLAlchemy's
own execution uses (UUIDs, times, JSON), its rows read with the same result processors, its
`before_cursor_execute` and `after_cursor_execute` listeners told (so statement counts in tests
stay true), and a driver error handled as SQLAlchemy handles it (wrapped; a connection found
dead thrown away). It returns a SQLAlchemy `Result`, with `rowcount` for DML; several parameter
sets are one executemany, or one statement per set with RETURNING. `InlineSession` (SQLite)
runs plans here; `PgSession` (pg_session.py) awaits them on asyncpg's adapter.

Only the very statement marked runs as a plan (one built from it runs as SQLAlchemy runs it). What
a plan must not do is refused when the statement is marked: an ORM entity in a SELECT (rows would
not become objects) or DML on an ORM class that would synchronise the session's objects.
`detached` and `save_changes` (sql.py) stand in for the ORM's loading and flushing where the hot
path changes rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Dialect, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.sql.selectable import Select

S = TypeVar("S", bound=Executable)

PREPARED = "lugx_prepared"
_marked: dict[int, Executable] = {}  # the marked statements, kept: built once, they live anyway


def prepared(statement: S) -> S:
    """Mark a statement built once to run as a compiled plan (see the module's docstring)."""
    if isinstance(statement, Select):
        _reads_columns(statement.column_descriptions)
    elif isinstance(statement, UpdateBase):
        try:
            _reads_columns(statement.returning_column_descriptions)
        except AttributeError:  # SQLAlchemy cannot describe an entity's RETURNING here
            raise TypeError("a prepared statement returns columns, not objects") from None
        synchronized = statement.get_execution_options().get("synchronize_session", "auto")
        if _of_orm(statement) and synchronized is not False:
            raise TypeError(
                "prepared DML names a table (Model.__table__), or says synchronize_session=False"
            )
    marked = statement.execution_options(**{PREPARED: True})  # a copy: the original stays as is
    _marked[id(marked)] = marked
    return marked


def _of_orm(statement: Executable) -> bool:
    """Whether the statement names ORM classes (not only tables and their columns)."""
    return statement._propagate_attrs.get("compile_state_plugin") == "orm"


def _reads_columns(descriptions: Sequence[Mapping[str, Any]]) -> None:
    for described in descriptions:
        entity = described.get("entity")
        if entity is not None and described.get("expr") is entity:
            raise TypeError(f"a prepared statement reads columns, not {entity} objects")


def is_prepared(statement: Any) -> bool:
    """Whether this very statement was marked: one built from it (`.where(...)`, say) was not,
    and runs as SQLAlchemy runs it (a plan per statement built per call would never be reused,
    and the plans would grow without bound)."""
    return _marked.get(id(statement)) is statement


M = TypeVar("M")


def detached(model: type[M], row: Any) -> M:
    """An ORM object of `model` from a row of all its table's columns (by column name), in no
    session, as if read by one that has closed: to read, and to hand on."""
    mapping = row._mapping
    return detached_row(model, [mapping[column.name] for column in model_columns(model)])


def model_columns(model: type[Any]) -> tuple[Column[Any], ...]:
    """The model's columns, in the order `detached_row` takes their values."""
    return _shape_of(model).columns


def detached_row(model: type[M], values: Sequence[Any]) -> M:
    """An ORM object of `model` with these values (one per `model_columns`), made as the ORM
    makes the objects a query loads (not through the constructor, which costs ten times as
    much), with its identity, detached. Relationships are not loaded."""
    shape = _shape_of(model)
    made: M = shape.mapper.class_manager.new_instance()
    instance_state(made).dict.update(zip(shape.attributes, values, strict=True))
    mark_detached(made)
    return made


def mark_detached(row: Any) -> None:
    """Give an object whose columns are all set its identity, as if read by a session that has
    closed (what `make_transient_to_detached` does, at a fifth of its cost)."""
    shape = _shape_of(type(row))
    state = instance_state(row)
    key = tuple(state.dict[name] for name in shape.primary_key)
    state.key = shape.mapper.identity_key_from_primary_key(key)
    state._commit_all(state.dict)


@dataclass(frozen=True, slots=True)
class _ModelShape:
    mapper: Mapper[Any]
    attributes: tuple[str, ...]  # the column attributes' names
    columns: tuple[Column[Any], ...]  # and their columns, in the same order
    primary_key: tuple[str, ...]  # attributes


_shapes: dict[type[Any], _ModelShape] = {}


def _shape_of(model: type[Any]) -> _ModelShape:
    shape = _shapes.get(model)
    if shape is None:
        mapper: Mapper[Any] = sa_inspect(model)
        attrs = mapper.column_attrs
        shape = _shapes[model] = _ModelShape(
            mapper=mapper,
            attributes=tuple(attr.key for attr in attrs),
            columns=tuple(cast("Column[Any]", attr.columns[0]) for attr in attrs),
            primary_key=tuple(
                mapper.get_property_by_column(column).key for column in mapper.primary_key
            ),
        )
    return shape


class PreparedResult(IteratorResult[Any]):
    """A prepared statement's rows, read in full; `rowcount` as the driver counted it."""

    rowcount: int


Processor = Callable[[Any], Any]


# An IN list's SQL for one length of list: the statement, and for each position the value's
# parameter, its index in the list (None: not a list) and its processor.
Expansion = tuple[str, list[tuple[str, int | None, Processor | None]]]


@dataclass(slots=True)
class Plan:
    compiled: SQLCompiler
    sql: str
    positions: Sequence[str]
    processors: Mapping[str, Processor]
    fixed: Mapping[str, Any]  # values written into the statement (`status == "open"`)
    expanding: Sequence[str] | None  # IN lists' parameters (None: none, or not plain lists)
    defaults: Sequence[tuple[str, Callable[[], Any]]]  # python-side column defaults
    metadata: SimpleResultMetaData | None
    # Made at the first rows, with the driver's type codes (some processors need them).
    row_processors: Sequence[tuple[int, Processor]] | None = None
    expansions: dict[tuple[int, ...], Expansion] = field(default_factory=dict)

    @property
    def result_metadata(self) -> SimpleResultMetaData:
        return self.metadata or _NO_ROWS

    @property
    def expands(self) -> bool:
        """Whether the SQL is finished per call (an IN list's length, a value rendered in)."""
        return bool(self.compiled.post_compile_params or self.compiled.literal_execute_params)

    @property
    def executes_many(self) -> bool:
        """Whether several parameter sets go to the driver as one executemany: nothing is
        returned and the SQL is the same for each."""
        return self.metadata is None and not self.expands

    def bind(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and its positional values for these parameters (as SQLAlchemy's
        `construct_params` and execution context would make them, without their generality)."""
        values = {**self.fixed, **params} if self.fixed else dict(params)
        for key, default in self.defaults:
            if key not in params:
                values[key] = default()
        try:
            if self.expanding is not None:
                return self._bind_lists(values)
            sql, positions, processors = self.sql, self.positions, self.processors
            if self.expands:  # not plain lists: SQLAlchemy finishes the SQL
                expanded = self.compiled._process_parameters_for_postcompile(values)
                sql, positions = expanded.statement, expanded.positiontup or ()
                processors = {**processors, **expanded.processors}
            return sql, [
                processors[key](values[key]) if key in processors else values[key]
                for key in positions
            ]
        except KeyError as exc:
            raise InvalidRequestError(f"A value is required for bind parameter {exc}") from None

    def _bind_lists(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        """IN lists: the SQL for these lengths of list is made once, then reused."""
        assert self.expanding is not None
        lengths = tuple(len(values[name]) for name in self.expanding)
        expansion = self.expansions.get(lengths)
        if expansion is None:
            expansion = self.expansions[lengths] = self._expansion(values)
        sql, slots = expansion
        bound = []
        for key, index, processor in slots:
            value = values[key] if index is None else values[key][index]
            bound.append(value if processor is None else processor(value))
        return sql, bound

    def _expansion(self, values: dict[str, Any]) -> Expansion:
        # A copy: SQLAlchemy replaces each list in the mapping it is given by its items.
        expanded = self.compiled._process_parameters_for_postcompile(dict(values))
        source = {
            name: (key, index)
            for key, names in expanded.parameter_expansion.items()
            for index, name in enumerate(names)
        }
        processors = {**self.processors, **expanded.processors}
        slots = [
            (*source.get(name, (name, None)), processors.get(name))
            for name in expanded.positiontup or ()
        ]
        return expanded.statement, slots


def plan_for(
    statement: Executable, dialect: Dialect, params: Any
) -> tuple[Plan, list[Mapping[str, Any]] | None]:
    """The plan for these parameters, and the parameter sets when there are several (each must
    name the same parameters); None for one set, `params` itself (or none)."""
    if isinstance(params, list) and params:
        names = tuple(params[0])
        if any(tuple(one) != names for one in params):
            raise InvalidRequestError("a prepared statement's parameter sets differ")
        return plan_of(statement, dialect, names), params
    return plan_of(statement, dialect, tuple(params) if params else ()), None


def result_of(plan: Plan, rows: Sequence[Any], rowcount: int) -> Result[Any]:
    result = PreparedResult(plan.result_metadata, iter(rows))
    result.rowcount = rowcount
    return result


_plans: dict[tuple[int, type[Dialect], tuple[str, ...]], tuple[Executable, Plan]] = {}


def plan_of(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Plan:
    """The statement's plan on this dialect for these parameter names (an INSERT or UPDATE
    writes the columns it is given), made once. The statement is kept with it, so its id
    cannot be reused while the plan lives."""
    key = (id(statement), type(dialect), keys)  # the driver's dialect: asyncpg's, psycopg's...
    found = _plans.get(key)
    if found is None:
        found = _plans[key] = (statement, _make_plan(statement, dialect, keys))
    return found[1]


def _make_plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    assert compiled.positional, "SQLite's and asyncpg's parameters are positional"
    metadata = None
    if compiled._result_columns:
        metadata = SimpleResultMetaData(_row_names(statement, compiled))
    return Plan(
        compiled=compiled,
        sql=compiled.string,
        positions=tuple(compiled.positiontup or ()),
        processors=cast("dict[str, Processor]", dict(compiled._bind_processors)),
        fixed=_fixed_values(compiled),
        expanding=_plain_lists(compiled),
        defaults=_python_defaults(compiled),
        metadata=metadata,
    )


def _row_names(statement: Executable, compiled: SQLCompiler) -> list[str]:
    """The rows' names, as SQLAlchemy names them: an ORM attribute's own name where the
    statement selects ORM attributes (its column's name may differ), else the column's."""
    names = [entry.keyname for entry in compiled._result_columns]
    if isinstance(statement, Select) and _of_orm(statement):
        described = [d.get("name") for d in statement.column_descriptions]
        if len(described) == len(names):
            names = [given or name for given, name in zip(described, names, strict=True)]
    return names


def _plain_lists(compiled: SQLCompiler) -> list[str] | None:
    """The parameters of IN (...) lists, if the statement has them and each is a plain list
    (not of tuples, nothing rendered as a literal); None otherwise."""
    if compiled.literal_execute_params or not compiled.post_compile_params:
        return None
    lists = compiled.post_compile_params
    if not all(bind.expanding and not bind.type._is_tuple_type for bind in lists):
        return None
    return [compiled.bind_names[bind] for bind in lists]


def _fixed_values(compiled: SQLCompiler) -> dict[str, Any]:
    fixed = {}
    for bind, name in compiled.bind_names.items():
        if bind.callable is not None:
            raise TypeError("a prepared statement's values are plain (no callable bindparam)")
        if not bind.required:
            fixed[name] = bind.value
    return fixed


def _python_defaults(compiled: SQLCompiler) -> list[tuple[str, Callable[[], Any]]]:
    """The columns an INSERT or UPDATE fills from python-side defaults when not given."""
    made = [(column, column.default) for column in compiled.insert_prefetch]
    made += [(column, column.onupdate) for column in compiled.update_prefetch]
    return [(column.key, default_maker(default)) for column, default in made if default is not None]


def default_maker(default: Any) -> Callable[[], Any]:
    """A column's python-side default (or onupdate) as a function of nothing."""
    if isinstance(default, CallableColumnDefault):
        # The models' callable defaults (uuid4, utcnow) take no context: SQLAlchemy wraps them
        # in a one-argument function that ignores it.
        return lambda: default.arg(None)  # type: ignore[arg-type]
    if isinstance(default, ScalarElementColumnDefault):
        return lambda: default.arg
    raise TypeError(f"cannot compute a {type(default).__name__} outside SQLAlchemy")


def run(
    connection: Connection, plan: Plan, params: Mapping[str, Any], sets: list[Any] | None
) -> Result[Any]:
    """Run the plan on the connection's driver connection, inside its transaction: with
    `params`, or for each of `sets` (`plan_for`): one executemany, or one statement per set
    with RETURNING."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    rows: list[Any] = []
    rowcount = 0
    try:
        if sets is None:
            rowcount = _execute(connection, cursor, plan, *plan.bind(params), rows)
        elif plan.executes_many:
            many = [plan.bind(one)[1] for one in sets]
            rowcount = _execute(connection, cursor, plan, plan.sql, many, rows, many=True)
        else:
            for one in sets:
                rowcount += _execute(connection, cursor, plan, *plan.bind(one), rows)
    finally:
        cursor.close()
    return result_of(plan, rows, rowcount)


def _execute(
    connection: Connection,
    cursor: Any,
    plan: Plan,
    sql: str,
    values: list[Any],
    rows: list[Any],
    *,
    many: bool = False,
) -> int:
    """One driver call, told to the cursor listeners, its rows (processed) added to `rows`;
    the rows it matched."""
    dispatch = connection.dispatch  # the engine's listeners and the connection's
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(connection, cursor, sql, values, None, many)
    try:
        (cursor.executemany if many else cursor.execute)(sql, values)
    except connection.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execution handles it: wrapped (IntegrityError...), its handle_error
        # listeners told, and a connection found dead thrown away rather than pooled again.
        connection._handle_dbapi_exception(exc, sql, values, cursor, None)
    if dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(connection, cursor, sql, values, None, many)
    if plan.metadata is not None:
        rows.extend(processed_rows(plan, cursor.fetchall(), cursor.description, connection.dialect))
    count: int = cursor.rowcount
    return count


_NO_ROWS = SimpleResultMetaData([])


def processed_rows(
    plan: Plan, rows: Sequence[Any], description: Sequence[Any] | None, dialect: Dialect
) -> Sequence[Any]:
    """The driver's rows as SQLAlchemy would hand them on (UUIDs, UTC times, JSON...)."""
    processors = plan.row_processors
    if processors is None:
        processors = plan.row_processors = _row_processors(plan, description, dialect)
    if not processors:
        return rows
    return [_processed(row, processors) for row in rows]


def _row_processors(
    plan: Plan, description: Sequence[Any] | None, dialect: Dialect
) -> list[tuple[int, Processor]]:
    """Each column's result processor, for the type code the driver reports for it (as
    SQLAlchemy's cursor result asks: PostgreSQL's numbers need it)."""
    made: list[tuple[int, Processor]] = []
    for index, entry in enumerate(plan.compiled._result_columns):
        code = description[index][1] if description else None
        processor = entry.type._cached_result_processor(dialect, code)
        if processor is not None:
            made.append((index, processor))
    return made


def _processed(row: Sequence[Any], processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> Any:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return values
