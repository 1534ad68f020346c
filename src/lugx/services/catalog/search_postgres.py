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
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Integer,
    MetaData,
    Select,
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
    Counts,
    Hit,
    Plan,
    Term,
    after,
    count_columns,
    counts_from,
    order_by,
    row_filters,
    sort_columns,
    taxonomy_filters,
)

_metadata = MetaData()
index = Table(
    "game_search",
    _metadata,
    Column("app_id", Integer, primary_key=True),
    Column("document", TSVECTOR, nullable=False),
)
games = Game.__table__


def _tsquery(expression: str) -> ColumnElement[Any]:
    # Our own syntax around quoted words of letters and digits; unaccent and the parser treat
    # the words exactly as they treated the documents.
    return func.to_tsquery("simple", func.unaccent(bindparam(None, expression, type_=Text)))


def _matches(expression: str) -> ColumnElement[bool]:
    return index.c.document.op("@@")(_tsquery(expression))


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


class PostgresSearch:
    async def known_words(self, session: AsyncSession, words: Sequence[str]) -> set[str]:
        checks = [
            select(literal(1))
            .select_from(index)
            .where(_matches(_quoted(word) + ":*"))
            .exists()
            .label(f"k{i}")
            for i, word in enumerate(words)
        ]
        row = (await session.execute(select(*checks))).one()
        return {word for word, known in zip(words, row, strict=True) if known}

    def _where(self, plan: Plan) -> list[ColumnElement[bool]]:
        return [*row_filters(plan.filters, plan.now), *taxonomy_filters(plan.filters)]

    async def page(self, session: AsyncSession, plan: Plan) -> list[Hit]:
        if plan.sort == "relevance":
            return await self._by_relevance(session, plan)
        columns = sort_columns(plan.sort, plan.now)
        where = self._where(plan)
        source: FromClause = games
        if plan.terms:
            where.append(_matches(_all_words(plan.terms, ":*")))
            source = _with_index()
        if plan.after is not None:
            where.append(after(columns, plan.after))
        rows = await session.execute(
            select(Game.app_id, *(c for c, _ in columns))
            .select_from(source)
            .where(*where)
            .order_by(*order_by(columns))
            .limit(plan.fetch)
        )
        return [Hit(row[0], tuple(row[1:])) for row in rows.tuples()]

    async def _by_relevance(self, session: AsyncSession, plan: Plan) -> list[Hit]:
        store_order = [(Game.popularity.expression, True), (Game.app_id.expression, False)]
        first_tier = 0 if plan.after is None else int(plan.after[0])
        tiers: list[Select[Any]] = []
        for tier, expression in enumerate(_tier_queries(plan.terms)):
            if tier < first_tier:
                continue
            where = [_matches(expression), *self._where(plan)]
            if plan.after is not None and tier == first_tier:
                where.append(after(store_order, plan.after[1:]))
            stmt = (
                select(literal(tier).label("tier"), Game.popularity, Game.app_id)
                .select_from(_with_index())
                .where(*where)
                .order_by(*order_by(store_order))
                .limit(plan.fetch)
            )
            tiers.append(select(stmt.subquery()))
        if not tiers:
            return []
        merged = union_all(*tiers).subquery()
        rows = await session.execute(
            select(merged.c.tier, merged.c.popularity, merged.c.app_id)
            .order_by(merged.c.tier, merged.c.popularity.desc(), merged.c.app_id)
            .limit(plan.fetch)
        )
        return [Hit(app_id, (tier, popularity, app_id)) for tier, popularity, app_id in rows]

    async def counts(self, session: AsyncSession, plan: Plan) -> Counts:
        where = self._where(plan)
        source: FromClause = games
        if plan.terms:
            where.append(_matches(_all_words(plan.terms, ":*")))
            source = _with_index()
        stmt = select(*count_columns(plan.now)).select_from(source).where(*where)
        counts = counts_from((await session.execute(stmt)).one())
        if counts.total == 0:
            return counts
        genres = source.join(GameGenre, GameGenre.game_id == Game.id).join(
            Genre, Genre.id == GameGenre.genre_id
        )
        tags = source.join(GameTag, GameTag.game_id == Game.id).join(Tag, Tag.id == GameTag.tag_id)
        for joined, slug, target in (
            (genres, Genre.slug, counts.genres),
            (tags, Tag.slug, counts.tags),
        ):
            rows = await session.execute(
                select(slug, func.count()).select_from(joined).where(*where).group_by(slug)
            )
            target.update(rows.tuples().all())
        return counts

    async def suggest(self, session: AsyncSession, terms: Sequence[Term], limit: int) -> list[int]:
        rows = await session.execute(
            select(Game.app_id)
            .select_from(_with_index())
            .where(_matches(_all_words(terms, ":*A")), Game.status == "published")
            .order_by(Game.popularity.desc(), Game.app_id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def reindex(self, session: AsyncSession, game_id: uuid.UUID) -> None:
        for statement in (FORGET_GAME, ADD_GAME, REMEMBER_GAME_WORDS):
            await session.execute(statement, {"game_id": game_id})

    async def rebuild(self, session: AsyncSession) -> None:
        for statement in REBUILD:
            await session.execute(statement)


# --- upkeep statements (the migration keeps its own copy: it must not change with this file) --

_DOCUMENT = """
    setweight(to_tsvector('simple', unaccent(g.title)), 'A')
    || setweight(to_tsvector('simple', unaccent(
        coalesce((SELECT string_agg(t.name, ' ') FROM game_tags gt JOIN tags t ON t.id = gt.tag_id
                  WHERE gt.game_id = g.id), '')
        || ' ' || coalesce((SELECT string_agg(d, ' ')
                            FROM json_array_elements_text(g.developers) AS d), '')
        || ' ' || g.publisher_name)), 'B')
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
ADD_GAME = text(
    f"INSERT INTO game_search(app_id, document) SELECT g.app_id, {_DOCUMENT} "  # noqa: S608
    "FROM games g WHERE g.id = :game_id AND g.status = 'published'"
).bindparams(bindparam("game_id", type_=Uuid()))
PUNCTUATION = "[[:punct:][:space:]]"  # bound: a colon in SQL text would read as a parameter
REMEMBER_GAME_WORDS = text(
    _remember_words(f"SELECT document FROM game_search WHERE app_id = {_GAME}")  # noqa: S608
).bindparams(bindparam("game_id", type_=Uuid()), punctuation=PUNCTUATION)
REBUILD = (
    text("DELETE FROM game_search"),
    text(
        f"INSERT INTO game_search(app_id, document) SELECT g.app_id, {_DOCUMENT} "  # noqa: S608
        "FROM games g WHERE g.status = 'published' ORDER BY g.app_id"
    ),
    text("DELETE FROM game_search_variants"),
    text(_remember_words("SELECT document FROM game_search")).bindparams(punctuation=PUNCTUATION),
    text("ANALYZE game_search"),
    text("ANALYZE game_search_variants"),
)
