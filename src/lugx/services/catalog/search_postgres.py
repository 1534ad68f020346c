"""The search index on PostgreSQL (distributed wiring): a weighted tsvector with a GIN index.

Tables (migration 0002):
- `game_search`: one row per published game: `document`, the title with weight A and the tag
  names, developers and publisher with weight B (`simple` configuration: no stemming, the same
  words as on SQLite; `unaccent` first), under a GIN index. A game's row goes with the game
  (ON DELETE CASCADE).
- `game_search_variants`: the typo table (see search.py).

Tiers are tsqueries on the weights: `'witcher':A` (a whole title word), `'witc':*A` (a title
word's start), `'witc':*` (anywhere). Filters, sorts and popularity are read from the game row
as it is now; the planner picks between the GIN index and an index on the sort column.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    bindparam,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.services.catalog.models import Game, GameGenre, GameTag, Genre, Tag
from lugx.services.catalog.search import (
    TIERS,
    AnySelect,
    Counts,
    Hit,
    Ordering,
    Plan,
    RowShape,
    TaxonomyShape,
    Term,
    after_params,
    count_columns,
    counts_from,
    lines,
    nulls_of,
    row_filters,
    row_params,
    row_shape,
    sort_ordering,
    taxonomy_filters,
    taxonomy_params,
    taxonomy_shape,
)

_metadata = MetaData()
index = Table(
    "game_search",
    _metadata,
    Column("app_id", Integer, primary_key=True),
    Column("document", TSVECTOR, nullable=False),
)
games = Game.__table__
STORE_ORDER = Ordering.of(sort_ordering("top_sellers").keys)
FETCH = bindparam("fetch", type_=Integer())
QUERY = "query"  # bound tsquery texts: query, query_0, query_1, query_2


def _matches(name: str) -> ColumnElement[bool]:
    """`document @@ to_tsquery('simple', unaccent(:name))`: our own syntax around quoted words
    of letters and digits; unaccent and the parser treat them as they treated the documents."""
    query = func.to_tsquery("simple", func.unaccent(bindparam(name, type_=Text())))
    return index.c.document.op("@@")(query)


def _quoted(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'"


def _all_words(terms: Sequence[Term], marker: str) -> str:
    groups = []
    for term in terms:
        options = [_quoted(word) + marker for word in term.words]
        groups.append(options[0] if len(options) == 1 else "(" + " | ".join(options) + ")")
    return " & ".join(groups)


def _tier_queries(terms: Sequence[Term]) -> list[str]:
    """As on SQLite: whole title words; title word starts; word starts anywhere."""
    exact, title, anywhere = (_all_words(terms, m) for m in (":A", ":*A", ":*"))
    return [exact, f"({title}) & !({exact})", f"({anywhere}) & !({title})"]


def _with_index() -> FromClause:
    return games.join(index, index.c.app_id == Game.app_id)


Shape = tuple[RowShape, TaxonomyShape]


def _where(shape: Shape) -> list[ColumnElement[bool]]:
    rows, taxonomy = shape
    return [*row_filters(rows), *taxonomy_filters(taxonomy)]


# --- statements, built once per shape ----------------------------------------------------------


@lru_cache(maxsize=128)
def _relevance(first_tier: int, resumed: bool, shape: Shape) -> AnySelect:
    tiers = []
    for tier in range(first_tier, TIERS):
        where = [_matches(f"{QUERY}_{tier}"), *_where(shape)]
        if resumed and tier == first_tier:
            where.append(STORE_ORDER.after((False, False)))
        stmt = (
            select(literal(tier).label("tier"), Game.app_id, Game.popularity)
            .select_from(_with_index())
            .where(*where)
            .order_by(*STORE_ORDER.order_by())
            .limit(FETCH)
        )
        tiers.append(select(stmt.subquery()))
    merged = union_all(*tiers).subquery()
    page = (
        select(merged)
        .order_by(merged.c.tier, merged.c.popularity.desc(), merged.c.app_id)
        .limit(FETCH)
        .subquery()
    )
    return (
        lines()
        .add_columns(page.c.tier, page.c.popularity)
        .join(page, Game.app_id == page.c.app_id)
        .order_by(page.c.tier, page.c.popularity.desc(), page.c.app_id)
    )


@lru_cache(maxsize=128)
def _by_columns(
    sort: str, text_search: bool, resumed: tuple[bool, ...] | None, shape: Shape
) -> AnySelect:
    ordering = sort_ordering(sort)
    where = _where(shape)
    stmt = lines().add_columns(*ordering.columns)
    if text_search:
        where.append(_matches(QUERY))
        stmt = stmt.join(index, index.c.app_id == Game.app_id)
    if resumed is not None:
        where.append(ordering.after(resumed))
    return stmt.where(*where).order_by(*ordering.order_by()).limit(FETCH)


@lru_cache(maxsize=32)
def _counts(text_search: bool, shape: Shape) -> tuple[AnySelect, AnySelect, AnySelect]:
    where = _where(shape)
    source: FromClause = games
    if text_search:
        where.append(_matches(QUERY))
        source = _with_index()
    totals = select(*count_columns()).select_from(source).where(*where)
    genres = (
        select(Genre.slug, func.count())
        .select_from(source)
        .join(GameGenre, GameGenre.game_id == Game.id)
        .join(Genre, Genre.id == GameGenre.genre_id)
        .where(*where)
        .group_by(Genre.slug)
    )
    tags = (
        select(Tag.slug, func.count())
        .select_from(source)
        .join(GameTag, GameTag.game_id == Game.id)
        .join(Tag, Tag.id == GameTag.tag_id)
        .where(*where)
        .group_by(Tag.slug)
    )
    return totals, genres, tags


@lru_cache(maxsize=8)
def _known(count: int) -> AnySelect:
    return select(
        *(
            select(literal(1)).select_from(index).where(_matches(f"{QUERY}_{i}")).exists()
            for i in range(count)
        )
    )


_SUGGEST = (
    lines()
    .join(index, index.c.app_id == Game.app_id)
    .where(_matches(QUERY), Game.status == "published")
    .order_by(*STORE_ORDER.order_by())
    .limit(FETCH)
)


# --- the backend ----------------------------------------------------------------------------


def _params(plan: Plan) -> dict[str, Any]:
    return {
        **row_params(plan.filters, plan.now),
        **taxonomy_params(plan.filters),
        "fetch": plan.fetch,
    }


class PostgresSearch:
    async def known_words(self, session: AsyncSession, words: Sequence[str]) -> set[str]:
        params = {f"{QUERY}_{i}": _quoted(word) + ":*" for i, word in enumerate(words)}
        row = (await session.execute(_known(len(words)), params)).one()
        return {word for word, known in zip(words, row, strict=True) if known}

    async def page(self, session: AsyncSession, plan: Plan) -> list[Hit]:
        shape = (row_shape(plan.filters), taxonomy_shape(plan.filters))
        params = _params(plan)
        if plan.sort == "relevance":
            first_tier = 0 if plan.after is None else int(plan.after[0])
            for tier, query in enumerate(_tier_queries(plan.terms)):
                params[f"{QUERY}_{tier}"] = query
            if plan.after is not None:
                params.update(after_params(plan.after[1:]))
            stmt = _relevance(first_tier, plan.after is not None, shape)
            rows = await session.execute(stmt, params)
            return [Hit(game, (tier, popularity, game.app_id)) for game, tier, popularity in rows]
        if plan.terms:
            params[QUERY] = _all_words(plan.terms, ":*")
        if plan.after is not None:
            params.update(after_params(plan.after))
        stmt = _by_columns(plan.sort, bool(plan.terms), nulls_of(plan.after), shape)
        result = await session.execute(stmt, params)
        return [Hit(row[0], tuple(row[1:])) for row in result]

    async def counts(self, session: AsyncSession, plan: Plan) -> Counts:
        shape = (row_shape(plan.filters), taxonomy_shape(plan.filters))
        params = _params(plan)
        if plan.terms:
            params[QUERY] = _all_words(plan.terms, ":*")
        totals, genres, tags = _counts(bool(plan.terms), shape)
        counts = counts_from((await session.execute(totals, params)).one())
        if counts.total:
            counts.genres.update((await session.execute(genres, params)).all())
            counts.tags.update((await session.execute(tags, params)).all())
        return counts

    async def suggest(self, session: AsyncSession, terms: Sequence[Term], limit: int) -> list[Game]:
        params = {QUERY: _all_words(terms, ":*A"), "fetch": limit}
        return list((await session.execute(_SUGGEST, params)).scalars().all())

    async def reindex(self, session: AsyncSession, game_id: uuid.UUID) -> None:
        for statement in (FORGET_GAME, ADD_GAME, REMEMBER_GAME_WORDS):
            await session.execute(statement, {"game_id": game_id})

    async def rebuild(self, session: AsyncSession) -> None:
        for statement in REBUILD:
            await session.execute(statement)

    async def clear(self, session: AsyncSession) -> None:
        for statement in CLEAR:
            await session.execute(statement)


# --- upkeep statements (the migration keeps its own copy: it must not change with this file) --

# Set-based: tag names are aggregated in one pass (a subquery per game measured 45 s for 100,000
# games); for one game the planner pushes `g.id = :game_id` into the aggregate.
_DOCUMENTS = """
    INSERT INTO game_search(app_id, document)
    SELECT g.app_id,
        setweight(to_tsvector('simple', unaccent(g.title)), 'A')
        || setweight(to_tsvector('simple', unaccent(
            coalesce(tn.names, '') || ' ' || coalesce(dv.names, '') || ' ' || g.publisher_name
        )), 'B')
    FROM games g
    LEFT JOIN (
        SELECT gt.game_id, string_agg(t.name, ' ') AS names
        FROM game_tags gt JOIN tags t ON t.id = gt.tag_id
        GROUP BY gt.game_id
    ) AS tn ON tn.game_id = g.id
    LEFT JOIN LATERAL (
        SELECT string_agg(d, ' ') AS names FROM json_array_elements_text(g.developers) AS d
    ) AS dv ON true
    WHERE g.status = 'published'
"""
_GAME = "(SELECT app_id FROM games WHERE id = :game_id)"


def _remember_words(documents: str) -> str:
    """SQL that adds the words of some documents to the typo table: each word (3-40 letters,
    not a number, no punctuation) as itself and, from 4 letters, with each letter deleted."""
    return f"""
        WITH terms AS (
            SELECT DISTINCT term FROM ({documents}) AS source,
                unnest(tsvector_to_array(source.document)) AS term
            WHERE char_length(term) BETWEEN 3 AND 40 AND term ~ '[^0-9]'
              AND term !~ :punctuation)
        INSERT INTO game_search_variants(variant, term)
        SELECT term, term FROM terms
        UNION
        SELECT overlay(term PLACING '' FROM i FOR 1), term
        FROM terms, generate_series(1, char_length(term)) AS i
        WHERE char_length(term) >= 4
        ON CONFLICT DO NOTHING
    """  # noqa: S608


FORGET_GAME = text(f"DELETE FROM game_search WHERE app_id = {_GAME}").bindparams(  # noqa: S608
    bindparam("game_id", type_=Uuid())
)
ADD_GAME = text(_DOCUMENTS + " AND g.id = :game_id").bindparams(bindparam("game_id", type_=Uuid()))
PUNCTUATION = "[[:punct:][:space:]]"  # bound: a colon in SQL text would read as a parameter
REMEMBER_GAME_WORDS = text(
    _remember_words(f"SELECT document FROM game_search WHERE app_id = {_GAME}")  # noqa: S608
).bindparams(bindparam("game_id", type_=Uuid()), punctuation=PUNCTUATION)
REBUILD = (
    text("DELETE FROM game_search"),
    text(_DOCUMENTS + " ORDER BY g.app_id"),
    text("DELETE FROM game_search_variants"),
    text(_remember_words("SELECT document FROM game_search")).bindparams(punctuation=PUNCTUATION),
    text("ANALYZE game_search"),
    text("ANALYZE game_search_variants"),
)
CLEAR = (text("DELETE FROM game_search"), text("DELETE FROM game_search_variants"))
