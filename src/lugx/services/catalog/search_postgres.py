"""The search index on PostgreSQL (distributed wiring): one weighted tsvector per game, under a
GIN index.

Tables (migration 0002):
- `game_search`: one row per published game, its `document`: the title with weight A; the tag
  names, developers and publisher with weight B (`simple` configuration: no stemming, the same
  words as on SQLite, diacritics folded exactly as search.fold folds a typed word); and facet
  words for its type, genres, tags, platforms and features (`_kgame`, `_g<slug in hex>`,
  `_t<slug in hex>`, `_p<bit>`, `_f<bit>`: they start with "_", which no typed word can, so
  no prefix a player types reaches them). A game's row goes with the game (ON DELETE CASCADE).
- `game_search_variants`: the typo table (see search.py).

The title also has a tsvector of its own (`title`, GIN): tiers 0 and 1 and suggestions ask it,
and its statistics tell the planner how rare a word is in titles (the document's cannot: its
estimate for `'space':A` counted every "Space" tag, and the planner walked 122,000 games by
popularity to find 19 titles).

Queries are tsqueries written by us around quoted, already folded words, cast as they are
(`CAST(:query AS tsquery)`: no parsing, and a constant the planner can estimate; generic plans
are switched off per transaction for the same reason). Price, sale, date and status are read
from the game row as it is now, and so is popularity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    FromClause,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.services.catalog.models import Game, GameGenre, GameTag, Genre, Tag
from lugx.services.catalog.search import (
    COMBINING_MARKS,
    TIERS,
    AnySelect,
    Counts,
    Filters,
    Hit,
    Ordering,
    Plan,
    RowShape,
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
    variants_table,
)
from lugx.services.catalog.search_common import (
    QuerySyntax,
    hits_by_columns,
    known_words_of,
    run_all,
)

_metadata = MetaData()
index = Table(
    "game_search",
    _metadata,
    Column("app_id", Integer, primary_key=True),
    Column("title", TSVECTOR, nullable=False),
    Column("document", TSVECTOR, nullable=False),
)
games = Game.__table__
STORE_ORDER = Ordering.of(sort_ordering("top_sellers").keys)
FETCH = bindparam("fetch", type_=Integer())
QUERY = "query"  # bound tsquery texts: query, query_0, query_1, query_2


def _matches(name: str, column: str = "document") -> ColumnElement[bool]:
    query = cast(bindparam(name, type_=Text()), TSQUERY)
    return index.c[column].op("@@", is_comparison=True)(query)


# The planner must see each search's words (a plan made for any words at all walks the games by
# popularity and reads them all when the words are rare): no generic plans, whatever the
# driver's statement cache does.
CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def _custom_plans(session: AsyncSession) -> None:
    await session.execute(CUSTOM_PLANS)


def _quoted(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'"


# Facet words start with "_", which no typed word can.
TSQUERY_SYNTAX = QuerySyntax(quote=_quoted, any_of=" | ", all_of=" & ", facet_mark="_")


def _all_words(terms: Sequence[Term], marker: str) -> str:
    return TSQUERY_SYNTAX.all_words(terms, marker)


def _facets(filters: Filters) -> str | None:
    return TSQUERY_SYNTAX.facets(filters)


def _both(words: str | None, facets: str | None) -> str | None:
    return TSQUERY_SYNTAX.both(words, facets)


def _tier_params(plan: Plan) -> dict[str, str]:
    """Tier 0: every word a whole title word; 1: every word starts a title word (not tier 0);
    2: every word starts a word anywhere (not tier 1). Titles have their own tsvector, so the
    planner knows how rare a title word is; the facets go with the document."""
    exact, prefix = (_all_words(plan.terms, m) for m in ("", ":*"))
    anywhere = _both(prefix, _facets(plan.filters)) or prefix
    return {
        "exact": exact,
        "prefix": prefix,
        "anywhere": anywhere,
        "facets": _facets(plan.filters) or "",
    }


def _matched_set(plan: Plan) -> str | None:
    """The tsquery of everything the plan matches (None: every game, no index needed)."""
    words = _all_words(plan.terms, ":*") if plan.terms else None
    return _both(words, _facets(plan.filters))


def _with_index() -> FromClause:
    return games.join(index, index.c.app_id == Game.app_id)


def _matched(name: str, *conditions: ColumnElement[bool]) -> CTE:
    """The games a tsquery matches, found first through the GIN index and kept (MATERIALIZED):
    with `ORDER BY popularity LIMIT n` the planner may otherwise walk the games by popularity
    and test each, which reads the whole catalog when the matches are unpopular (measured: 1.8 s
    for "puzzle", whose 1,000 titles sit in the long tail)."""
    return select(index.c.app_id).where(*conditions).cte(name).prefix_with("MATERIALIZED")


def _join(stmt: AnySelect, matched: CTE) -> AnySelect:
    return stmt.join(matched, matched.c.app_id == Game.app_id)


# --- statements, built once per shape ----------------------------------------------------------


def _tier_conditions(tier: int, facets: bool) -> list[ColumnElement[bool]]:
    if tier == 2:
        return [_matches("anywhere"), ~_matches("prefix", "title")]
    conditions = [_matches("exact" if tier == 0 else "prefix", "title")]
    if tier == 1:
        conditions.append(~_matches("exact", "title"))
    if facets:
        conditions.append(_matches("facets"))
    return conditions


@lru_cache(maxsize=128)
def _relevance(first_tier: int, resumed: bool, facets: bool, shape: RowShape) -> AnySelect:
    tiers = []
    for tier in range(first_tier, TIERS):
        where = row_filters(shape)
        if resumed and tier == first_tier:
            where.append(STORE_ORDER.after((False, False)))
        matched = _matched(f"tier_{tier}", *_tier_conditions(tier, facets))
        stmt = (
            _join(select(literal(tier).label("tier"), Game.app_id, Game.popularity), matched)
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
    sort: str, indexed: bool, words: bool, resumed: tuple[bool, ...] | None, shape: RowShape
) -> AnySelect:
    """A sort's order. With words, the matches are found first (see _matched); facets alone
    are common words whose counts the planner knows, so it may walk a sort column's index."""
    ordering = sort_ordering(sort)
    where = row_filters(shape)
    stmt = lines().add_columns(*ordering.columns)
    if indexed and words:
        stmt = _join(stmt, _matched("matched", _matches(QUERY)))
    elif indexed:
        stmt = stmt.join(index, index.c.app_id == Game.app_id)
        where.append(_matches(QUERY))
    if resumed is not None:
        where.append(ordering.after(resumed))
    return stmt.where(*where).order_by(*ordering.order_by()).limit(FETCH)


@lru_cache(maxsize=32)
def _counts(indexed: bool, shape: RowShape) -> tuple[AnySelect, AnySelect, AnySelect]:
    where = row_filters(shape)
    source: FromClause = games
    if indexed:
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
    """Which words start an indexed word, from the typo table's own rows (each indexed word of 3+
    letters is there as itself; the columns sort bytewise, so a prefix is a range). Asking the
    documents instead let the planner scan them all for a word none has (measured: 440 ms)."""
    v = variants_table.c

    def starts(i: int) -> ColumnElement[bool]:
        low, high = bindparam(f"low_{i}", type_=Text()), bindparam(f"high_{i}", type_=Text())
        return (
            select(literal(1))
            .where(v.variant >= low, v.variant < high, v.variant == v.term)
            .exists()
        )

    return select(*(starts(i) for i in range(count)))


_SUGGEST = (
    _join(lines(), _matched("matched", _matches(QUERY, "title")))
    .where(Game.status == "published")
    .order_by(*STORE_ORDER.order_by())
    .limit(FETCH)
)
# One or two letters start thousands of titles: then walking the games by popularity finds a
# page at once, and the planner, left free, does.
_SUGGEST_SHORT = (
    lines()
    .join(index, index.c.app_id == Game.app_id)
    .where(_matches(QUERY, "title"), Game.status == "published")
    .order_by(*STORE_ORDER.order_by())
    .limit(FETCH)
)
SHORT_PREFIX = 2


# --- the backend ----------------------------------------------------------------------------


class PostgresSearch:
    async def known_words(self, session: AsyncSession, words: Sequence[str]) -> set[str]:
        params = {}
        for i, word in enumerate(words):
            params[f"low_{i}"] = word
            params[f"high_{i}"] = word[:-1] + chr(ord(word[-1]) + 1)
        row = (await session.execute(_known(len(words)), params)).one()
        return known_words_of(words, row)

    async def page(self, session: AsyncSession, plan: Plan) -> list[Hit]:
        await _custom_plans(session)
        shape = row_shape(plan.filters)
        params: dict[str, Any] = {**row_params(plan.filters, plan.now), "fetch": plan.fetch}
        if plan.sort == "relevance":
            first_tier = 0 if plan.after is None else int(plan.after[0])
            params.update(_tier_params(plan))
            if plan.after is not None:
                params.update(after_params(plan.after[1:]))
            facets = plan.filters.taxonomy
            stmt = _relevance(first_tier, plan.after is not None, facets, shape)
            rows = await session.execute(stmt, params)
            return [Hit(game, (tier, popularity, game.app_id)) for game, tier, popularity in rows]
        matched = _matched_set(plan)
        if matched is not None:
            params[QUERY] = matched
        if plan.after is not None:
            params.update(after_params(plan.after))
        indexed, words = matched is not None, bool(plan.terms)
        stmt = _by_columns(plan.sort, indexed, words, nulls_of(plan.after), shape)
        return hits_by_columns(await session.execute(stmt, params))

    async def counts(self, session: AsyncSession, plan: Plan) -> Counts:
        await _custom_plans(session)
        matched = _matched_set(plan)
        params = row_params(plan.filters, plan.now)
        if matched is not None:
            params[QUERY] = matched
        totals, genres, tags = _counts(matched is not None, row_shape(plan.filters))
        counts = counts_from((await session.execute(totals, params)).one())
        if counts.total:
            counts.genres.update((await session.execute(genres, params)).all())
            counts.tags.update((await session.execute(tags, params)).all())
        return counts

    async def suggest(self, session: AsyncSession, terms: Sequence[Term], limit: int) -> list[Game]:
        await _custom_plans(session)
        params = {QUERY: _all_words(terms, ":*"), "fetch": limit}
        short = len(terms) == 1 and len(terms[0].typed) <= SHORT_PREFIX
        stmt = _SUGGEST_SHORT if short else _SUGGEST
        return list((await session.execute(stmt, params)).scalars().all())

    async def reindex(self, session: AsyncSession, game_id: uuid.UUID) -> None:
        for statement in (FORGET_GAME, ADD_GAME, REMEMBER_GAME_WORDS):
            await session.execute(statement, {"game_id": game_id})

    async def rebuild(self, session: AsyncSession) -> None:
        await run_all(session, REBUILD)

    async def clear(self, session: AsyncSession) -> None:
        await run_all(session, CLEAR)


# --- upkeep statements (the migration keeps its own copy: it must not change with this file) --
# Constant fragments of our own; every value is bound.


def fold(expression: str) -> str:
    """search.fold in SQL: decompose, drop the marks (:marks), recompose (to_tsvector lowers).
    Text already in plain ASCII (most of it) skips the Unicode work."""
    folded = f"normalize(regexp_replace(normalize({expression}, NFD), :marks, '', 'g'), NFC)"
    return f"(CASE WHEN {expression} ~ '^[ -~]*$' THEN {expression} ELSE {folded} END)"


FACETS = """
    array_to_tsvector(
        ARRAY['_k' || g.type] || coalesce(gn.tokens, '{}') || coalesce(tn.tokens, '{}')
        || ARRAY(SELECT '_p' || b FROM unnest(ARRAY[1, 2, 4]) AS b
                 WHERE g.platforms_mask & b <> 0)
        || ARRAY(SELECT '_f' || b FROM unnest(ARRAY[1, 2, 4, 8, 16]) AS b
                 WHERE g.features_mask & b <> 0))
"""
# Set-based: tag names are aggregated in one pass (a subquery per game measured 45 s for 100,000
# games); for one game the planner pushes `g.id = :game_id` into the aggregates.
_DOCUMENTS = f"""
    INSERT INTO game_search(app_id, title, document)
    SELECT g.app_id,
        to_tsvector('simple', {fold("g.title")}),
        setweight(to_tsvector('simple', {fold("g.title")}), 'A')
        || setweight(to_tsvector('simple', {fold("kw.text")}), 'B')
        || {FACETS}
    FROM games g
    LEFT JOIN (
        SELECT gg.game_id,
            array_agg('_g' || encode(convert_to(ge.slug, 'UTF8'), 'hex')) AS tokens
        FROM game_genres gg JOIN genres ge ON ge.id = gg.genre_id
        GROUP BY gg.game_id
    ) AS gn ON gn.game_id = g.id
    LEFT JOIN (
        SELECT gt.game_id, string_agg(t.name, ' ') AS names,
            array_agg('_t' || encode(convert_to(t.slug, 'UTF8'), 'hex')) AS tokens
        FROM game_tags gt JOIN tags t ON t.id = gt.tag_id
        GROUP BY gt.game_id
    ) AS tn ON tn.game_id = g.id
    LEFT JOIN LATERAL (
        SELECT string_agg(d, ' ') AS names FROM json_array_elements_text(g.developers) AS d
    ) AS dv ON true
    CROSS JOIN LATERAL (
        SELECT coalesce(tn.names, '') || ' ' || coalesce(dv.names, '') || ' ' || g.publisher_name
            AS text
    ) AS kw
    WHERE g.status = 'published'
"""  # noqa: S608
_GAME = "(SELECT app_id FROM games WHERE id = :game_id)"
PUNCTUATION = "[[:punct:][:space:]]"  # bound: a colon in SQL text would read as a parameter


def _remember_words(documents: str) -> str:
    """SQL that adds the words of some documents to the typo table: each word (3-40 letters,
    not a number, no punctuation: not a facet word) as itself and, from 4 letters, with each
    letter deleted."""
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
ADD_GAME = text(_DOCUMENTS + " AND g.id = :game_id").bindparams(
    bindparam("game_id", type_=Uuid()), marks=COMBINING_MARKS
)
REMEMBER_GAME_WORDS = text(
    _remember_words(f"SELECT document FROM game_search WHERE app_id = {_GAME}")  # noqa: S608
).bindparams(bindparam("game_id", type_=Uuid()), punctuation=PUNCTUATION)
REBUILD = (
    text("DELETE FROM game_search"),
    text(_DOCUMENTS + " ORDER BY g.app_id").bindparams(marks=COMBINING_MARKS),
    text("DELETE FROM game_search_variants"),
    text(_remember_words("SELECT document FROM game_search")).bindparams(punctuation=PUNCTUATION),
    text("ANALYZE game_search"),
    text("ANALYZE game_search_variants"),
)
CLEAR = (text("DELETE FROM game_search"), text("DELETE FROM game_search_variants"))
