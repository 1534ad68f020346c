"""Writing a generated catalog (seed_generate.py) into the catalog's database, fast: Core
`insert()` statements run `executemany`, a few thousand rows a statement and a transaction a
batch; then the search index rebuilt once and the statistics refreshed (ANALYZE). Also emptying
the catalog (`lugx seed --replace`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Dialect, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from lugx.platform.db import Database
from lugx.platform.errors import Conflict
from lugx.platform.service import ServiceContext
from lugx.services.catalog import search
from lugx.services.catalog.models import Game, Publisher
from lugx.services.catalog.seed_rows import (
    TABLES,
    CatalogData,
    GenreRow,
    TagRow,
    without_cycle_collector,
)
from lugx.services.catalog.service import GENERATION_KEY

log = structlog.get_logger(__name__)

Progress = Callable[[str, int], None]  # (table, rows just written)

BATCH_ROWS = 5_000  # games: wide rows
BATCH_ROWS_NARROW = 20_000  # link tables: a few small columns a row


@dataclass
class LoadReport:
    rows: dict[str, int]
    insert_seconds: float
    index_seconds: float  # rebuilding the search index, and ANALYZE

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _database(target: ServiceContext | Database) -> Database:
    return target if isinstance(target, Database) else target.db


async def catalog_is_empty(session: AsyncSession) -> bool:
    """No games and no publishers: nothing a seed could collide with."""
    for table in (Game, Publisher):
        if (await session.execute(select(table.id).limit(1))).first() is not None:
            return False
    return True


async def load(
    target: ServiceContext | Database,
    data: CatalogData,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Write a generated catalog into an empty catalog database, a batch per transaction, then
    rebuild the search index once. Genres and tags that exist already (by slug) are reused."""
    db = _database(target)
    started = time.perf_counter()
    async with db.session(write=False) as session:
        if not await catalog_is_empty(session):
            raise Conflict(
                "The catalog already has games or publishers; seed an empty one "
                "(`lugx seed --games N --replace` empties it first)",
                code="catalog-not-empty",
            )
        genre_ids = await _existing_ids(session, TABLES["genres"])
        tag_ids = await _existing_ids(session, TABLES["tags"])
    plan = _plan(data, genre_ids, tag_ids)
    with without_cycle_collector():
        async with _bulk_writes(db):
            for table, rows, batch_rows in plan:
                await _insert(db, table, rows, batch_rows, progress)
            if db.dialect == "postgresql":
                await _advance_sequences(db)
            inserted = time.perf_counter() - started
            index_seconds = await _rebuild_search_index(db)
    if isinstance(target, ServiceContext):
        await _forget_cached_pages(target)
    counts = {table.name: len(rows) for table, rows, _ in plan}
    log.info("catalog seeded", rows=sum(counts.values()), seconds=round(inserted, 2))
    return LoadReport(rows=counts, insert_seconds=inserted, index_seconds=index_seconds)


async def _existing_ids(session: AsyncSession, table: Table) -> dict[str, int]:
    rows = await session.execute(select(table.c.slug, table.c.id))
    return {slug: int(id_) for slug, id_ in rows.all()}


def _merge(
    rows: Sequence[GenreRow | TagRow], existing: Mapping[str, int]
) -> tuple[list[GenreRow | TagRow], dict[int, int]]:
    """Rows still to insert (numbered after the existing ones), and the id each generated id
    ends up as."""
    next_id = max(existing.values(), default=0) + 1
    new: list[GenreRow | TagRow] = []
    final: dict[int, int] = {}
    for row in rows:
        if row.slug in existing:
            final[row.id] = existing[row.slug]
        else:
            final[row.id] = next_id
            new.append(row._replace(id=next_id))
            next_id += 1
    return new, final


def _plan(
    data: CatalogData, genre_ids: Mapping[str, int], tag_ids: Mapping[str, int]
) -> list[tuple[Table, Sequence[Any], int]]:
    genres, genre_of = _merge(data.genres, genre_ids)
    tags, tag_of = _merge(data.tags, tag_ids)
    game_genres: Sequence[Any] = data.game_genres
    game_tags: Sequence[Any] = data.game_tags
    if any(old != new for old, new in genre_of.items()):
        game_genres = [row._replace(genre_id=genre_of[row.genre_id]) for row in game_genres]
    if any(old != new for old, new in tag_of.items()):
        game_tags = [row._replace(tag_id=tag_of[row.tag_id]) for row in game_tags]
    replaced = {"genres": genres, "tags": tags, "game_genres": game_genres, "game_tags": game_tags}
    return [
        (
            table,
            replaced.get(table.name, rows),
            BATCH_ROWS if table.name in ("games", "publishers") else BATCH_ROWS_NARROW,
        )
        for table, rows in data.tables()
    ]


class _InsertStatement:
    """`insert(table)` compiled once for the database's dialect, and rows turned into its
    DB-API parameters with each column's own bind processor, a column at a time.

    Executing `insert(table)` with a list of dicts costs SQLAlchemy a parameter dict built and
    processed per row, which at a million rows is most of the load (measured at 100,000 games:
    about 19 s of Python against 9 s of SQLite). The statement and the conversions are the same;
    only the per-row bookkeeping goes. Dialects with named parameters take the plain path."""

    def __init__(self, table: Table, dialect: Dialect, fields: Sequence[str]) -> None:
        compiled = insert(table).compile(dialect=dialect)
        self.table = table
        self.sql = str(compiled)
        names = list(compiled.positiontup or ())
        self.fast = bool(compiled.positional and names) and set(names) <= set(fields)
        self.columns = [
            (fields.index(name), table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in (names if self.fast else ())
        ]
        self.fields = list(fields)

    def parameters(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        if not self.fast:
            return [dict(zip(self.fields, row, strict=True)) for row in rows]
        columns = []
        for index, process in self.columns:
            values = [row[index] for row in rows]
            columns.append(list(map(process, values)) if process is not None else values)
        return list(zip(*columns, strict=True))

    async def execute(self, connection: AsyncConnection, parameters: list[Any]) -> None:
        if self.fast:
            await connection.exec_driver_sql(self.sql, parameters)
        else:
            await connection.execute(insert(self.table), parameters)


async def _insert(
    db: Database, table: Table, rows: Sequence[Any], batch_rows: int, progress: Progress | None
) -> None:
    """A transaction per batch. (Making the next batch's parameters in a thread while the
    database writes this one gains nothing: SQLite needs the GIL back to bind every row.)"""
    if not rows:
        return
    statement = _InsertStatement(table, db.writer.dialect, rows[0]._fields)
    for start in range(0, len(rows), batch_rows):
        parameters = statement.parameters(rows[start : start + batch_rows])
        async with db.session() as session:
            await statement.execute(await session.connection(), parameters)
        if progress is not None:
            progress(table.name, len(parameters))


@asynccontextmanager
async def _bulk_writes(db: Database) -> AsyncIterator[None]:
    """SQLite: no fsync at WAL checkpoints while loading (`synchronous=OFF` on the writer's one
    connection), the kit's setting back afterwards. A crash mid-load can cost the load, which
    is re-run anyway; measured at 100,000 games it saves about a third of SQLite's time. The
    pragma cannot change inside a transaction, and SQLAlchemy would open one: it goes to the
    driver's connection directly."""
    if not db.sqlite:
        yield
        return
    before = await db.writer_pragma("PRAGMA synchronous")
    await db.writer_pragma("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        await db.writer_pragma(f"PRAGMA synchronous={int(before or 0)}")


async def _advance_sequences(db: Database) -> None:
    """PostgreSQL: explicit ids do not move a serial's sequence; the next id the service hands
    out must come after the seeded ones."""
    async with db.session() as session:
        for table in ("app_numbers", "genres", "tags"):
            await session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                )
            )


async def _rebuild_search_index(db: Database) -> float:
    """Rebuild the search index in one go; the seconds it took (with fresh statistics)."""
    started = time.perf_counter()
    async with db.session() as session:
        await search.rebuild_index(session)
    # Fresh statistics: without them the query planner picks poor indexes for a bulk-loaded
    # catalog (measured: a game page's DLC lookup took 110 ms instead of under a millisecond).
    async with db.session() as session:
        await session.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def _forget_cached_pages(ctx: ServiceContext) -> None:
    """Shelves cached before the load would hide the new games: move to a new generation."""
    await ctx.cache.incr(GENERATION_KEY, 86_400 * 365)


CLEARED_TABLES = (
    "bundle_items",
    "discounts",
    "game_prices",
    "game_tags",
    "game_genres",
    "games",
    "app_numbers",
    "tags",
    "genres",
    "publisher_members",
    "publishers",
)


async def clear(target: ServiceContext | Database) -> None:
    """Empty the catalog (`lugx seed --replace`): every game, publisher (and its members),
    genre and tag. Children first, so no cascade has to run row by row."""
    # Emptied in one go first, the search index need not forget the games one by one.
    async with _database(target).session() as session:
        await search.clear_index(session)
        for name in CLEARED_TABLES:
            await session.execute(TABLES[name].delete())


async def count_games(target: ServiceContext | Database) -> int:
    async with _database(target).session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(Game))).scalar_one())
