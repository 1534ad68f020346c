"""The search index on SQLite (embedded wiring): FTS5, with the store's order built in.

Tables (migration 0002):
- `game_search_docs`: one row per published game: its title; its keywords (tag names,
  developers, publisher); its facet words as a JSON array (`kgame`, `g<genre slug in hex>`,
  `t<tag slug in hex>`, `p<platform bit>`, `f<feature bit>`), which FTS5 reads as words and
  Python as JSON.
- `game_search`: an FTS5 index over those three columns (external content: the text is stored
  once, in the docs table), `unicode61 remove_diacritics 2`, prefix indexes for 1-3 letters;
  `game_search_vocab` reads its words back (fts5vocab).
- `game_search_variants`: the typo table (see search.py).

The FTS rowid of a game is `(2^31 - 1 - popularity) << 32 | app_id`: FTS5 walks a match in
ascending rowid order, so "most popular first, then the lower app_id" costs nothing, and a page
of a popular word stops after a page of rows instead of ranking thousands. Taxonomy filters are
words of the facets column, so FTS5 intersects them with the text before any game row is read.
Price, sale, date and status conditions are checked on the game row, through the covering index
`ix_games_search`, joined by app_id (a CROSS JOIN: SQLite must walk the index first, never the
games table).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

from lugx.services.catalog.models import FEATURES, PLATFORMS, Game
from lugx.services.catalog.search import (
    TIERS,
    AnySelect,
    Counts,
    Filters,
    Hit,
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
    stored_variants,
    variants_table,
    words_in,
)
from lugx.services.catalog.search_common import (
    QuerySyntax,
    hits_by_columns,
    known_words_of,
    run_all,
)

APP_BITS = 0xFFFFFFFF
MAX_POPULARITY = 2**31 - 1

_metadata = MetaData()
docs = Table(
    "game_search_docs",
    _metadata,
    Column("doc", Integer, primary_key=True),
    Column("app_id", Integer, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("keywords", Text, nullable=False),
    Column("facets", Text, nullable=False),
)
vocab = Table(
    "game_search_vocab",  # fts5vocab 'col': each word of each column, with its documents
    _metadata,
    Column("term", Text),
    Column("col", Text),
    Column("doc", Integer),
    Column("cnt", Integer),
)
fts = Table(
    "game_search",
    _metadata,
    Column("rowid", Integer),
    Column("game_search", Text),  # FTS5's hidden column: `game_search MATCH ...`
)
games = Game.__table__


def doc_of(popularity: int, app_id: int) -> int:
    return ((MAX_POPULARITY - min(max(popularity, 0), MAX_POPULARITY)) << 32) | app_id


def popularity_and_app_id(doc: int) -> tuple[int, int]:
    return MAX_POPULARITY - (doc >> 32), doc & APP_BITS


def slug_of(token: str) -> str:
    return bytes.fromhex(token[1:]).decode()


class _CrossJoin(Join):
    """`a CROSS JOIN b ON ...`: SQLite's way to fix the join order."""

    inherit_cache = True


@compiles(_CrossJoin)
def _compile_cross_join(element: _CrossJoin, compiler: SQLCompiler, **kw: Any) -> str:
    kw["asfrom"] = True
    left = compiler.process(element.left, **kw)
    right = compiler.process(element.right, **kw)
    assert element.onclause is not None
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"


def _indexed_games() -> FromClause:
    return _CrossJoin(fts, games, Game.app_id == fts.c.rowid.op("&")(APP_BITS))


def _match(name: str) -> ColumnElement[bool]:
    """`game_search MATCH :name`: the FTS5 expression is a bound value (built by us)."""
    return fts.c.game_search.op("MATCH")(bindparam(name, type_=Text()))


# --- FTS5 expressions (only quoted words of our own: nothing typed is syntax) -----------------


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


FTS5 = QuerySyntax(quote=_quoted, any_of=" OR ", all_of=" AND ")


def _all_words(terms: Sequence[Term], *, prefix: bool) -> str:
    return FTS5.all_words(terms, "*" if prefix else "")


def _facets(filters: Filters) -> str | None:
    """The facet words required, in the facets column only."""
    required = FTS5.facets(filters)
    return f"facets : ({required})" if required else None


def _with_facets(expression: str | None, facets: str | None) -> str:
    return FTS5.both(expression, facets) or ""


def _tier_matches(terms: Sequence[Term], facets: str | None) -> list[str]:
    """Tier 0: every word whole in the title; 1: every word starts a title word; 2: every word
    starts a word of the title or keywords. Each tier excludes the ones before it."""
    exact = f"title : ({_all_words(terms, prefix=False)})"
    title = f"title : ({_all_words(terms, prefix=True)})"
    anywhere = f"{{title keywords}} : ({_all_words(terms, prefix=True)})"
    tiers = [exact, f"({title}) NOT ({exact})", f"({anywhere}) NOT ({title})"]
    return [_with_facets(tier, facets) for tier in tiers]


def _matched_set(plan: Plan) -> str | None:
    """The FTS expression for everything the plan matches (None: no index needed)."""
    words = None
    if plan.terms:
        words = f"{{title keywords}} : ({_all_words(plan.terms, prefix=True)})"
    if words is None and not plan.filters.taxonomy:
        return None
    return _with_facets(words, _facets(plan.filters))


# --- statements, built once per shape ----------------------------------------------------------

MATCH = "match"  # bound FTS expressions: match, match_0, match_1, match_2
FETCH = bindparam("fetch", type_=Integer())


def _doc_after(name: str = "after_doc") -> ColumnElement[bool]:
    return fts.c.rowid > bindparam(name, type_=Integer())


@lru_cache(maxsize=128)
def _relevance(first_tier: int, resumed: bool, shape: RowShape) -> AnySelect:
    """The page in relevance order: each tier walked in store order (rowid), a page at most,
    then merged; the games of the page joined to it."""
    tiers: list[AnySelect] = []
    for tier in range(first_tier, TIERS):
        where = [_match(f"{MATCH}_{tier}"), *row_filters(shape)]
        if resumed and tier == first_tier:
            where.append(_doc_after())
        stmt = (
            select(literal(tier).label("tier"), fts.c.rowid.label("doc"))
            .select_from(_indexed_games())
            .where(*where)
            .order_by(fts.c.rowid)
            .limit(FETCH)
        )
        tiers.append(select(stmt.subquery()))
    merged = union_all(*tiers).subquery()
    page = select(merged).order_by(merged.c.tier, merged.c.doc).limit(FETCH).subquery()
    return (
        lines()
        .add_columns(page.c.tier, page.c.doc)
        .join(page, Game.app_id == page.c.doc.op("&")(APP_BITS))
        .order_by(page.c.tier, page.c.doc)
    )


@lru_cache(maxsize=128)
def _store_order(resumed: bool, shape: RowShape) -> AnySelect:
    """The page in store order (top sellers) from the index: the FTS rowid order itself."""
    where = [_match(MATCH), *row_filters(shape)]
    if resumed:
        where.append(_doc_after())
    page = (
        select(fts.c.rowid.label("doc"))
        .select_from(_indexed_games())
        .where(*where)
        .order_by(fts.c.rowid)
        .limit(FETCH)
        .subquery()
    )
    return (
        lines()
        .add_columns(page.c.doc)
        .join(page, Game.app_id == page.c.doc.op("&")(APP_BITS))
        .order_by(page.c.doc)
    )


@lru_cache(maxsize=128)
def _by_columns(
    sort: str, indexed: bool, resumed: tuple[bool, ...] | None, shape: RowShape
) -> AnySelect:
    """The page in the order of a sort's columns, from the index's matches or (no words, no
    taxonomy filter) from every game."""
    ordering = sort_ordering(sort)
    where = row_filters(shape)
    stmt = lines().add_columns(*ordering.columns)
    if indexed:
        where.append(_match(MATCH))
        stmt = stmt.select_from(_indexed_games())
    if resumed is not None:
        where.append(ordering.after(resumed))
    return stmt.where(*where).order_by(*ordering.order_by()).limit(FETCH)


@lru_cache(maxsize=32)
def _counts(indexed: bool, shape: RowShape) -> tuple[AnySelect, AnySelect]:
    """Totals, platforms and price bands; then the facet words of every matched game, counted
    in Python (measured: twice as fast as json_each and GROUP BY in SQLite)."""
    where = row_filters(shape)
    source = _indexed_games() if indexed else games
    if indexed:
        where.append(_match(MATCH))
    totals = select(*count_columns()).select_from(source).where(*where)
    joined = (
        source.join(docs, docs.c.doc == fts.c.rowid)
        if indexed
        else source.join(docs, docs.c.app_id == Game.app_id)
    )
    return totals, select(docs.c.facets).select_from(joined).where(*where)


# The whole catalog's genre and tag counts, straight from the index's own statistics.
_CATALOG_FACETS = select(vocab.c.term, vocab.c.doc).where(
    vocab.c.col == "facets", func.substr(vocab.c.term, 1, 1).in_(("g", "t"))
)
_UNFILTERED: RowShape = (False, False, None, None, False, False)


@lru_cache(maxsize=8)
def _known(count: int) -> AnySelect:
    return select(
        *(
            select(literal(1)).select_from(fts).where(_match(f"{MATCH}_{i}")).exists()
            for i in range(count)
        )
    )


_SUGGEST = (
    lines()
    .select_from(_indexed_games())
    .where(_match(MATCH), Game.status == "published")
    .order_by(fts.c.rowid)
    .limit(FETCH)
)


# --- the backend ----------------------------------------------------------------------------


class SqliteSearch:
    async def known_words(self, session: AsyncSession, words: Sequence[str]) -> set[str]:
        params = {
            f"{MATCH}_{i}": f"{{title keywords}} : {_quoted(word)}*" for i, word in enumerate(words)
        }
        row = (await session.execute(_known(len(words)), params)).one()
        return known_words_of(words, row)

    async def page(self, session: AsyncSession, plan: Plan) -> list[Hit]:
        shape = row_shape(plan.filters)
        params = {**row_params(plan.filters, plan.now), "fetch": plan.fetch}
        matched = _matched_set(plan)
        if plan.sort == "relevance":
            first_tier = 0 if plan.after is None else int(plan.after[0])
            facets = _facets(plan.filters)
            for tier, expression in enumerate(_tier_matches(plan.terms, facets)):
                params[f"{MATCH}_{tier}"] = expression
            if plan.after is not None:
                params["after_doc"] = doc_of(plan.after[1], plan.after[2])
            stmt = _relevance(first_tier, plan.after is not None, shape)
            rows = await session.execute(stmt, params)
            return [Hit(game, (tier, *popularity_and_app_id(doc))) for game, tier, doc in rows]
        if matched is not None:
            params[MATCH] = matched
        if matched is not None and plan.sort == "top_sellers":
            if plan.after is not None:
                params["after_doc"] = doc_of(plan.after[0], plan.after[1])
            rows = await session.execute(_store_order(plan.after is not None, shape), params)
            return [Hit(game, popularity_and_app_id(doc)) for game, doc in rows]
        if plan.after is not None:
            params.update(after_params(plan.after))
        stmt = _by_columns(plan.sort, matched is not None, nulls_of(plan.after), shape)
        return hits_by_columns(await session.execute(stmt, params))

    async def counts(self, session: AsyncSession, plan: Plan) -> Counts:
        matched = _matched_set(plan)
        params = row_params(plan.filters, plan.now)
        if matched is not None:
            params[MATCH] = matched
        shape = row_shape(plan.filters)
        totals, facets = _counts(matched is not None, shape)
        counts = counts_from((await session.execute(totals, params)).one())
        if not counts.total:
            return counts
        tokens: Counter[str] = Counter()
        if matched is None and shape == _UNFILTERED:
            tokens.update(dict((await session.execute(_CATALOG_FACETS)).all()))
        else:
            for words in (await session.execute(facets, params)).scalars():
                tokens.update(orjson.loads(words))
        for token, count in tokens.items():
            if token[0] in "gt":
                target = counts.genres if token[0] == "g" else counts.tags
                target[slug_of(token)] = count
        return counts

    async def suggest(self, session: AsyncSession, terms: Sequence[Term], limit: int) -> list[Game]:
        params = {MATCH: f"title : ({_all_words(terms, prefix=True)})", "fetch": limit}
        return list((await session.execute(_SUGGEST, params)).scalars().all())

    async def reindex(self, session: AsyncSession, game_id: uuid.UUID) -> None:
        for statement in (FORGET_GAME, DROP_DOC, ADD_GAME, INDEX_GAME):
            await session.execute(statement, {"game_id": game_id})
        row = (
            await session.execute(
                select(docs.c.title, docs.c.keywords)
                .join(games, games.c.app_id == docs.c.app_id)
                .where(games.c.id == game_id)
            )
        ).first()
        if row is not None:
            await remember_words(session, words_in(f"{row[0]} {row[1]}"))

    async def rebuild(self, session: AsyncSession) -> None:
        await run_all(session, REBUILD)

    async def clear(self, session: AsyncSession) -> None:
        await run_all(session, CLEAR)


async def remember_words(session: AsyncSession, words: set[str]) -> None:
    """Add indexed words to the typo table (words already there are skipped)."""
    rows = [
        {"variant": variant, "term": word}
        for word in sorted(words)
        for variant in sorted(stored_variants(word))
    ]
    if rows:
        await session.execute(variants_table.insert().prefix_with("OR IGNORE"), rows)


# --- upkeep statements (the migration keeps its own copy: it must not change with this file) --

_DOC_COLUMNS = """
    (((2147483647 - min(max(g.popularity, 0), 2147483647)) << 32) | g.app_id) AS doc,
    g.app_id,
    g.title,
    coalesce((SELECT group_concat(t.name, ' ') FROM game_tags gt JOIN tags t ON t.id = gt.tag_id
              WHERE gt.game_id = g.id), '')
      || ' ' || coalesce((SELECT group_concat(d.value, ' ') FROM json_each(g.developers) d), '')
      || ' ' || g.publisher_name,
    (SELECT json_group_array(token) FROM (
        SELECT 'k' || g.type AS token
        UNION ALL SELECT 'g' || lower(hex(ge.slug)) FROM game_genres gg
                  JOIN genres ge ON ge.id = gg.genre_id WHERE gg.game_id = g.id
        UNION ALL SELECT 't' || lower(hex(t.slug)) FROM game_tags gt
                  JOIN tags t ON t.id = gt.tag_id WHERE gt.game_id = g.id
        UNION ALL SELECT 'p' || b.value FROM json_each(:platform_bits) b
                  WHERE g.platforms_mask & b.value
        UNION ALL SELECT 'f' || b.value FROM json_each(:feature_bits) b
                  WHERE g.features_mask & b.value))
"""
_BITS = {
    "platform_bits": orjson.dumps(sorted(PLATFORMS.values())).decode(),
    "feature_bits": orjson.dumps(sorted(FEATURES.values())).decode(),
}
_GAME = "(SELECT app_id FROM games WHERE id = :game_id)"

FORGET_GAME = text(
    "INSERT INTO game_search(game_search, rowid, title, keywords, facets) "  # noqa: S608
    f"SELECT 'delete', doc, title, keywords, facets FROM game_search_docs WHERE app_id = {_GAME}"
).bindparams(bindparam("game_id", type_=Uuid()))
DROP_DOC = text(f"DELETE FROM game_search_docs WHERE app_id = {_GAME}").bindparams(  # noqa: S608
    bindparam("game_id", type_=Uuid())
)
ADD_GAME = text(
    "INSERT INTO game_search_docs(doc, app_id, title, keywords, facets) "  # noqa: S608
    f"SELECT {_DOC_COLUMNS} FROM games g WHERE g.id = :game_id AND g.status = 'published'"
).bindparams(
    bindparam("game_id", type_=Uuid()),
    bindparam("platform_bits", _BITS["platform_bits"]),
    bindparam("feature_bits", _BITS["feature_bits"]),
)
INDEX_GAME = text(
    "INSERT INTO game_search(rowid, title, keywords, facets) "  # noqa: S608
    f"SELECT doc, title, keywords, facets FROM game_search_docs WHERE app_id = {_GAME}"
).bindparams(bindparam("game_id", type_=Uuid()))

REBUILD = (
    text("DELETE FROM game_search_docs"),
    text(
        "INSERT INTO game_search_docs(doc, app_id, title, keywords, facets) "  # noqa: S608
        f"SELECT {_DOC_COLUMNS} FROM games g WHERE g.status = 'published' ORDER BY 1"
    ).bindparams(**_BITS),
    text("INSERT INTO game_search(game_search) VALUES ('rebuild')"),
    # One segment: a fresh index in many segments reads several times slower.
    text("INSERT INTO game_search(game_search) VALUES ('optimize')"),
    text("DELETE FROM game_search_variants"),
    text(
        """
        WITH RECURSIVE position(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM position WHERE i < 40),
        terms(term) AS (
            SELECT DISTINCT term FROM game_search_vocab
            WHERE col IN ('title', 'keywords') AND length(term) BETWEEN 3 AND 40
              AND term GLOB '*[^0-9]*')
        INSERT OR IGNORE INTO game_search_variants(variant, term)
        SELECT term, term FROM terms
        UNION ALL
        SELECT substr(term, 1, i - 1) || substr(term, i + 1), term
        FROM terms JOIN position ON position.i <= length(term)
        WHERE length(term) >= 4
        """
    ),
)
CLEAR = (
    text("DELETE FROM game_search_docs"),
    text("INSERT INTO game_search(game_search) VALUES ('delete-all')"),
    text("DELETE FROM game_search_variants"),
)
