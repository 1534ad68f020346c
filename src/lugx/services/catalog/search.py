"""Browse and search the store: full text with prefixes and typo tolerance, filters, sorts, facet
counts and signed keyset cursors, over published games only.

The same rules on both wirings; only the index differs (`search_sqlite.py`: FTS5 with the store
order built into the index; `search_postgres.py`: a weighted tsvector with a GIN index). What is
shared lives here:

- **Words.** `q` is folded (lower case, no diacritics) and cut into words of letters and digits;
  anything else (`"`, `*`, `:`, `-`, parentheses, HTML) only separates words, and `AND`, `OR`,
  `NOT`, `NEAR` are plain words. Every word must match, each as a prefix ("witc" finds "The
  Witcher"), in the title, tags, developers or publisher.
- **Typos.** When a search finds nothing, a word that starts no indexed word is replaced by the
  indexed words one edit away (two for words of 8+ letters), found through a table of each
  indexed word's one-letter deletions ("symmetric delete"): "wicher" is "witcher" less a
  letter. The same table, the same lookups and the same checks on both databases.
- **Relevance** is a match tier, then popularity: all words whole in the title, then all words
  starting title words, then all words anywhere; within a tier the store's order (popularity,
  then the lower app_id). Measured against bm25 in docs/search.md.
- **Sorts** each end with app_id, so every key is unique, and pages are keyset pages: the cursor
  holds the last line's key, is signed, and names the search it came from.
- **Index upkeep is explicit**, not by triggers: the service calls `reindex_game` after a change
  to a game's text, tags, genres, platforms, features, type, status or popularity; the seeder
  calls `rebuild_index` once after a bulk load.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import Any, Literal, Protocol, cast, get_args

import orjson
from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from lugx.platform.db import UTCDateTime, utcnow
from lugx.platform.errors import BadRequest, ValidationFailed
from lugx.platform.money import SUPPORTED_CURRENCIES, Money
from lugx.platform.pagination import decode_cursor, encode_cursor
from lugx.services.catalog.models import FEATURES, GAME_TYPES, PLATFORMS, Game, mask_of
from lugx.services.catalog.pricing import final_price_sql, next_price_change, on_sale_sql, quote
from lugx.services.catalog.schemas import (
    MAX_PRICE,
    PriceBand,
    SearchFacets,
    SearchPage,
    Sort,
    Suggestion,
    SuggestPage,
)
from lugx.services.catalog.views import summaries

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8  # more words only narrow a search that is already exact
MAX_WORD_LENGTH = 40
MAX_FILTER_VALUES = 10
MAX_CORRECTIONS = 5  # indexed words tried in place of one unknown word
MAX_LIMIT = 100
MAX_SUGGESTIONS = 10
TOP_TAGS = 20
SORTS: tuple[str, ...] = get_args(Sort)
PRICE_BANDS: tuple[str, ...] = get_args(PriceBand)
# Lower bounds (inclusive) of the bands above "free", on the final USD price in cents.
BAND_FLOORS: tuple[tuple[str, int], ...] = (
    ("under_5", 1),
    ("5_10", 500),
    ("10_20", 1000),
    ("20_40", 2000),
    ("over_40", 4000),
)

# Tables of the index that both wirings share (created by migration 0002, outside the models:
# the ORM never loads them).
search_metadata = MetaData()
variants_table = Table(
    "game_search_variants",
    search_metadata,
    Column("variant", String(40), primary_key=True),
    Column("term", String(40), primary_key=True),
)


# --- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """One search, as the route parsed it. Filters of one kind: genres, tags and features must
    all be there; platforms and types are "any of". Prices are final USD prices, in cents, at
    `now`; release dates are inclusive."""

    q: str = ""
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    on_sale: bool | None = None
    free: bool | None = None
    released_after: date | None = None
    released_before: date | None = None
    sort: Sort | None = None  # None: relevance with q, top sellers without
    limit: int = 20
    cursor: str | None = None
    facets: bool = False
    now: datetime = field(default_factory=utcnow)
    currency: str = "USD"


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{name}: {message}", errors=[{"loc": ["query", name], "field": name, "message": message}]
    )


def _check_names(name: str, values: Sequence[str], known: Iterable[str]) -> None:
    if len(values) > MAX_FILTER_VALUES:
        raise _invalid(name, f"at most {MAX_FILTER_VALUES} values")
    allowed = list(known)
    for value in values:
        if value not in allowed:
            raise _invalid(name, f"unknown value {value[:40]!r}; one of: {', '.join(allowed)}")


def validate(query: SearchQuery) -> None:
    """The rules a route checks too, for callers that are not the route."""
    if len(query.q) > MAX_QUERY_LENGTH:
        raise _invalid("q", f"at most {MAX_QUERY_LENGTH} characters")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise _invalid("limit", f"between 1 and {MAX_LIMIT}")
    for name, values in (("genre", query.genres), ("tag", query.tags)):
        if len(values) > MAX_FILTER_VALUES:
            raise _invalid(name, f"at most {MAX_FILTER_VALUES} values")
    _check_names("platform", query.platforms, PLATFORMS)
    _check_names("feature", query.features, FEATURES)
    _check_names("type", query.types, GAME_TYPES)
    for name, price in (("price_min", query.price_min), ("price_max", query.price_max)):
        if price is not None and not 0 <= price <= MAX_PRICE:
            raise _invalid(name, f"a price in cents between 0 and {MAX_PRICE}")
    if (
        query.price_min is not None
        and query.price_max is not None
        and query.price_min > query.price_max
    ):
        raise _invalid("price_min", "greater than price_max")
    if (
        query.released_after is not None
        and query.released_before is not None
        and query.released_after > query.released_before
    ):
        raise _invalid("released_after", "later than released_before")
    if query.sort is not None and query.sort not in SORTS:
        raise _invalid("sort", f"one of: {', '.join(SORTS)}")
    if query.currency not in SUPPORTED_CURRENCIES:
        raise _invalid("currency", f"one of: {', '.join(sorted(SUPPORTED_CURRENCIES))}")
    if query.now.tzinfo is None:
        raise ValueError("SearchQuery.now must be timezone-aware")
    if query.sort == "relevance" and not words_of(query.q):
        raise BadRequest("sort=relevance needs a search text (q)", code="relevance-without-q")


# --- words ----------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


# Diacritics as separate marks (after NFD): the combining blocks of Latin, Greek and Cyrillic.
# PostgreSQL folds its documents with the same class (search_postgres.py), so a typed word and
# an indexed word fold alike there by construction; SQLite's remove_diacritics agrees on them.
COMBINING_MARKS = "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_MARKS = re.compile(COMBINING_MARKS)


def fold(text: str) -> str:
    """Lower case without diacritics, as the indexes store words ("Pokémon" -> "pokemon")."""
    bare = _MARKS.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", bare).lower()


def words_in(text: str) -> set[str]:
    """Every word of a text, folded: what the index makes of it (for the typo table)."""
    return set(_WORD.findall(fold(text)))


def words_of(q: str) -> tuple[str, ...]:
    """The distinct words of a search text, in order. Nothing in it is query syntax."""
    words = dict.fromkeys(w[:MAX_WORD_LENGTH] for w in _WORD.findall(fold(q)))
    return tuple(words)[:MAX_WORDS]


# --- typo tolerance ---------------------------------------------------------------------------

MIN_CORRECTED_LENGTH = 4
TWO_EDITS_FROM = 8
MAX_DOUBLE_DELETIONS_LENGTH = 20  # 190 keys; longer words get one-edit corrections only


def allowed_edits(word: str) -> int:
    """How far a word may be from what was meant: short words and numbers are taken as typed."""
    if len(word) < MIN_CORRECTED_LENGTH or not any(c.isalpha() for c in word):
        return 0
    return 1 if len(word) < TWO_EDITS_FROM else 2


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def stored_variants(term: str) -> set[str]:
    """What the variants table holds for an indexed word: itself, and (from 4 letters) each
    one-letter deletion. Mirrors the SQL that fills the table on a rebuild."""
    if not 3 <= len(term) <= MAX_WORD_LENGTH or term.isdigit():
        return set()
    return {term} | (_deletions(term) if len(term) >= MIN_CORRECTED_LENGTH else set())


def query_variants(word: str) -> set[str]:
    """Keys to look a typed word up by: itself and its deletions (and, for long words, its double
    deletions). Together with the stored deletions this finds every word one insertion, deletion,
    substitution or transposition away, and most two-edit typos of long words."""
    edits = allowed_edits(word)
    if edits == 0:
        return set()
    found = {word} | _deletions(word)
    if edits > 1 and len(word) <= MAX_DOUBLE_DELETIONS_LENGTH:
        found |= {d for one in _deletions(word) for d in _deletions(one)}
    return {v for v in found if len(v) >= 3}


def edit_distance(a: str, b: str, ceiling: int) -> int:
    """Optimal string alignment distance (a transposition is one edit), or ceiling + 1 once it
    is sure to exceed the ceiling."""
    if abs(len(a) - len(b)) > ceiling:
        return ceiling + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > ceiling:
            return ceiling + 1
        previous2, previous = previous, current
    return previous[-1]


def best_corrections(word: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The candidates nearest to a typed word, within its allowed edits; ties favour the same
    first letter and length (typos rarely touch those), then the alphabet, for a stable choice."""
    ceiling = allowed_edits(word)
    scored = []
    for candidate in set(candidates):
        if candidate == word or candidate.isdigit():
            continue
        distance = edit_distance(word, candidate, ceiling)
        if distance <= ceiling:
            scored.append(
                (distance, candidate[0] != word[0], abs(len(candidate) - len(word)), candidate)
            )
    if not scored:
        return ()
    nearest = min(s[0] for s in scored)
    return tuple(s[3] for s in sorted(s for s in scored if s[0] == nearest)[:MAX_CORRECTIONS])


@dataclass(frozen=True)
class Term:
    """One typed word and the indexed words it stands for: itself when the index knows it (as a
    word or the start of one), else its corrections (none: nothing can match)."""

    typed: str
    words: tuple[str, ...]

    @property
    def corrected(self) -> bool:
        return self.words != (self.typed,)


async def resolve_terms(
    session: AsyncSession, backend: SearchBackend, words: Sequence[str]
) -> tuple[Term, ...]:
    if not words:
        return ()
    # Only a word that could be corrected is looked up: the rest are taken as typed.
    correctable = [w for w in words if allowed_edits(w)]
    known = set(words) - set(correctable)
    if correctable:
        known |= await backend.known_words(session, correctable)
    unknown = [w for w in words if w not in known]
    keys = {w: query_variants(w) for w in unknown}
    wanted = set().union(*keys.values()) if keys else set()
    found: dict[str, set[str]] = {}
    if wanted:
        rows = await session.execute(
            select(variants_table.c.variant, variants_table.c.term).where(
                variants_table.c.variant.in_(sorted(wanted))
            )
        )
        for variant, term in rows:
            found.setdefault(variant, set()).add(term)
    terms = []
    for word in words:
        if word in known:
            terms.append(Term(word, (word,)))
        else:
            candidates = {t for key in keys[word] for t in found.get(key, ())}
            terms.append(Term(word, best_corrections(word, candidates)))
    return tuple(terms)


# --- filters and sorts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The filters of a query, in the terms the indexes use."""

    genres: tuple[str, ...] = ()  # all of (slugs)
    tags: tuple[str, ...] = ()  # all of (slugs)
    platforms_mask: int = 0  # any of
    features_mask: int = 0  # all of
    types: tuple[str, ...] = ()  # any of
    price_min: int | None = None
    price_max: int | None = None
    on_sale: bool | None = None
    free: bool | None = None
    released_after: date | None = None
    released_before: date | None = None

    @property
    def taxonomy(self) -> bool:
        """Filters on what a game is (kept in the index), as opposed to its price or date."""
        return bool(
            self.genres or self.tags or self.platforms_mask or self.features_mask or self.types
        )

    @classmethod
    def of(cls, query: SearchQuery) -> Filters:
        return cls(
            genres=tuple(sorted(set(query.genres))),
            tags=tuple(sorted(set(query.tags))),
            platforms_mask=mask_of(query.platforms, PLATFORMS),
            features_mask=mask_of(query.features, FEATURES),
            types=tuple(sorted(set(query.types))),
            price_min=query.price_min,
            price_max=query.price_max,
            on_sale=query.on_sale,
            free=query.free,
            released_after=query.released_after,
            released_before=query.released_before,
        )


# Statements are built once per shape (which filters are set, which sort, which page) with named
# bound values, and kept: building and hashing a statement costs more than running most searches.
NOW = bindparam("now", type_=UTCDateTime())


def bound_now() -> datetime:
    """The request's moment as a bound value, for the pricing rules' SQL (which take a moment)."""
    return cast(datetime, NOW)


RowShape = tuple[bool, bool, bool | None, bool | None, bool, bool]


def row_shape(filters: Filters) -> RowShape:
    return (
        filters.price_min is not None,
        filters.price_max is not None,
        filters.on_sale,
        filters.free,
        filters.released_after is not None,
        filters.released_before is not None,
    )


def row_filters(shape: RowShape) -> list[ColumnElement[bool]]:
    """Conditions on the game row that change over time (price, sale) or are not in the index."""
    has_min, has_max, on_sale, free, has_after, has_before = shape
    conditions: list[ColumnElement[bool]] = [Game.status == "published"]
    final = final_price_sql(bound_now())
    if has_min:
        conditions.append(final >= bindparam("price_min", type_=Integer()))
    if has_max:
        conditions.append(final <= bindparam("price_max", type_=Integer()))
    if on_sale is not None:
        running = on_sale_sql(bound_now())
        conditions.append(running if on_sale else ~running)
    if free is not None:
        conditions.append(Game.base_price == 0 if free else Game.base_price > 0)
    if has_after:
        conditions.append(Game.release_date >= bindparam("released_after", type_=Date()))
    if has_before:
        conditions.append(Game.release_date <= bindparam("released_before", type_=Date()))
    return conditions


def row_params(filters: Filters, now: datetime) -> dict[str, Any]:
    values = {
        "now": now,
        "price_min": filters.price_min,
        "price_max": filters.price_max,
        "released_after": filters.released_after,
        "released_before": filters.released_before,
    }
    return {name: value for name, value in values.items() if value is not None}


KeyKind = Literal["int", "str", "date"]


@dataclass(frozen=True)
class SortKey:
    """One column of a sort: how to compute it on the game row, which way it runs, whether it
    may be NULL (such rows come last), and how its value is written in a cursor."""

    name: str
    expression: Callable[[], ColumnElement[Any]]
    descending: bool
    kind: KeyKind = "int"
    nullable: bool = False


APP_ID_KEY = SortKey("app_id", lambda: Game.app_id.expression, descending=False)
POPULARITY_KEY = SortKey("popularity", lambda: Game.popularity.expression, descending=True)

# Every sort ends with app_id (unique), so keys never tie and keyset pages never skip or repeat.
# Plain columns where the games table has an index on them (release date, review score): a
# browse without words then walks that index instead of sorting the catalog.
SORT_KEYS: dict[str, tuple[SortKey, ...]] = {
    "top_sellers": (POPULARITY_KEY, APP_ID_KEY),
    "release_date": (
        SortKey("release_date", lambda: Game.release_date.expression, True, "date", True),
        APP_ID_KEY,
    ),
    "price": (SortKey("price", lambda: final_price_sql(bound_now()), False), APP_ID_KEY),
    "review_score": (
        SortKey("score", lambda: Game.review_score.expression, True, nullable=True),
        SortKey("reviews", lambda: Game.review_total.expression, descending=True),
        APP_ID_KEY,
    ),
    "name": (SortKey("name", lambda: func.lower(Game.title), False, "str"), APP_ID_KEY),
}
AnySelect = Select[*tuple[Any, ...]]
TIERS = 3  # relevance: whole title words, title word starts, anywhere


@dataclass(frozen=True)
class Ordering:
    """A sort's expressions on the game row, ready for ORDER BY and keyset conditions."""

    keys: tuple[SortKey, ...]
    columns: tuple[ColumnElement[Any], ...]

    @classmethod
    def of(cls, keys: Sequence[SortKey]) -> Ordering:
        return cls(tuple(keys), tuple(key.expression() for key in keys))

    def order_by(self) -> list[ColumnElement[Any]]:
        clauses: list[ColumnElement[Any]] = []
        for key, column in zip(self.keys, self.columns, strict=True):
            clause = column.desc() if key.descending else column.asc()
            clauses.append(clause.nulls_last() if key.nullable else clause)
        return clauses

    def after(self, nulls: Sequence[bool], prefix: str = "after") -> ColumnElement[bool]:
        """Rows strictly after the position bound as `<prefix>_0`, `<prefix>_1`... (`nulls`
        says which of its values are NULL: those are not bound)."""
        pairs = list(zip(self.keys, self.columns, strict=True))
        values = [
            bindparam(f"{prefix}_{i}", type_=column.type) for i, (_, column) in enumerate(pairs)
        ]
        clauses = []
        for i, (key, column) in enumerate(pairs):
            if nulls[i]:
                continue  # nothing sorts after NULL on this key: only the later keys can tell
            earlier = [
                pairs[j][1].is_(None) if nulls[j] else pairs[j][1] == values[j] for j in range(i)
            ]
            beyond = column < values[i] if key.descending else column > values[i]
            if key.nullable:
                beyond = or_(beyond, column.is_(None))
            clauses.append(and_(*earlier, beyond))
        return or_(*clauses)


def sort_ordering(sort: str) -> Ordering:
    return Ordering.of(SORT_KEYS[sort])


def after_params(values: Sequence[Any], prefix: str = "after") -> dict[str, Any]:
    return {f"{prefix}_{i}": value for i, value in enumerate(values) if value is not None}


def nulls_of(values: Sequence[Any] | None) -> tuple[bool, ...] | None:
    return None if values is None else tuple(value is None for value in values)


# What a result line shows (views.summary, pricing.quote): the rest of the row (the long
# description, media and requirements as JSON) is a good part of the cost of a page otherwise.
SUMMARY_COLUMNS = (
    Game.id,
    Game.app_id,
    Game.type,
    Game.title,
    Game.slug,
    Game.short_description,
    Game.base_price,
    Game.discount_percent,
    Game.discount_starts_at,
    Game.discount_ends_at,
    Game.review_total,
    Game.review_positive,
    Game.review_score,
    Game.review_description,
    Game.recent_review_score,
    Game.recent_review_description,
    Game.header_image,
    Game.release_date,
    Game.coming_soon,
    Game.platforms_mask,
    Game.publisher_name,
)


def lines() -> Select[Game]:
    """Games as a result line needs them (only SUMMARY_COLUMNS are loaded)."""
    return select(Game).options(load_only(*SUMMARY_COLUMNS))


# --- the plan a backend runs ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    terms: tuple[Term, ...]
    filters: Filters
    sort: str
    now: datetime
    fetch: int  # rows wanted: the page and one more
    # Where the previous page ended: for relevance (tier, popularity, app_id), else the values
    # of SORT_KEYS[sort].
    after: tuple[Any, ...] | None = None

    @property
    def hopeless(self) -> bool:
        """A word with no match and no correction: no results."""
        return any(not t.words for t in self.terms)


@dataclass(frozen=True)
class Hit:
    game: Game
    key: tuple[Any, ...]  # its position, for the cursor


@dataclass
class Counts:
    total: int = 0
    genres: dict[str, int] = field(default_factory=dict)  # by slug
    tags: dict[str, int] = field(default_factory=dict)
    platforms: dict[str, int] = field(default_factory=dict)
    price_bands: dict[str, int] = field(default_factory=dict)


class SearchBackend(Protocol):
    async def known_words(self, session: AsyncSession, words: Sequence[str]) -> set[str]:
        """The words that start at least one indexed word (of a published game)."""
        ...

    async def page(self, session: AsyncSession, plan: Plan) -> list[Hit]: ...

    async def counts(self, session: AsyncSession, plan: Plan) -> Counts: ...

    async def suggest(
        self, session: AsyncSession, terms: Sequence[Term], limit: int
    ) -> list[Game]: ...

    async def reindex(self, session: AsyncSession, game_id: uuid.UUID) -> None: ...

    async def rebuild(self, session: AsyncSession) -> None: ...

    async def clear(self, session: AsyncSession) -> None: ...


@cache
def _backend_for(dialect: str) -> SearchBackend:
    # Imported here: the backends build on the types above.
    if dialect == "sqlite":
        from lugx.services.catalog.search_sqlite import SqliteSearch

        return SqliteSearch()
    if dialect == "postgresql":
        from lugx.services.catalog.search_postgres import PostgresSearch

        return PostgresSearch()
    raise NotImplementedError(f"no search index for the {dialect} database")


def backend_of(session: AsyncSession) -> SearchBackend:
    return _backend_for(session.get_bind().dialect.name)


def price_band_cases(final: ColumnElement[Any]) -> dict[str, ColumnElement[bool]]:
    """Each price band as a condition on the final price."""
    cases: dict[str, ColumnElement[bool]] = {"free": final == 0}
    floors = [floor for _, floor in BAND_FLOORS]
    for (band, floor), ceiling in zip(BAND_FLOORS, [*floors[1:], None], strict=True):
        cases[band] = final >= floor if ceiling is None else and_(final >= floor, final < ceiling)
    return cases


def count_columns() -> list[ColumnElement[int]]:
    """One row of counts over a filtered set: the total, each platform, each price band."""
    conditions = [Game.platforms_mask.op("&")(bit) != 0 for bit in PLATFORMS.values()]
    conditions += list(price_band_cases(final_price_sql(bound_now())).values())
    return [func.count(), *(func.count().filter(condition) for condition in conditions)]


def counts_from(row: Sequence[int]) -> Counts:
    platforms = row[1 : 1 + len(PLATFORMS)]
    bands = row[1 + len(PLATFORMS) :]
    return Counts(
        total=row[0],
        platforms=dict(zip(PLATFORMS, platforms, strict=True)),
        price_bands=dict(zip(PRICE_BANDS, bands, strict=True)),
    )


# --- cursors --------------------------------------------------------------------------------


def fingerprint(query: SearchQuery, terms: Sequence[str], sort: str) -> str:
    """What a cursor must come from: the same words, filters and sort (not the page size, the
    facets or the currency, which do not change the order)."""
    shape = [
        list(terms),
        sorted(set(query.genres)),
        sorted(set(query.tags)),
        sorted(set(query.platforms)),
        sorted(set(query.features)),
        sorted(set(query.types)),
        query.price_min,
        query.price_max,
        query.on_sale,
        query.free,
        query.released_after.isoformat() if query.released_after else None,
        query.released_before.isoformat() if query.released_before else None,
        sort,
    ]
    digest = hashlib.sha256(orjson.dumps(shape)).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode()


def _cursor_kinds(sort: str) -> tuple[tuple[KeyKind, bool], ...]:
    if sort == "relevance":
        return (("int", False), ("int", False), ("int", False))
    return tuple((key.kind, key.nullable) for key in SORT_KEYS[sort])


def _to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _from_json(value: Any, kind: KeyKind, nullable: bool) -> Any:
    if value is None and nullable:
        return None
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < 2**53:
            return value
    elif kind == "str" and isinstance(value, str) and len(value) <= 400:
        return value
    elif kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadRequest("The cursor is not valid; start again without it", code="invalid-cursor")


def encode_position(secret: bytes, shape: str, key: tuple[Any, ...]) -> str:
    return encode_cursor(secret, {"s": shape, "k": [_to_json(v) for v in key]})


def decode_position(secret: bytes, cursor: str, shape: str, sort: str) -> tuple[Any, ...]:
    data = decode_cursor(secret, cursor)
    if data.get("s") != shape:
        raise BadRequest(
            "This cursor belongs to another search; start again without it",
            code="cursor-mismatch",
        )
    values = data.get("k")
    kinds = _cursor_kinds(sort)
    if not isinstance(values, list) or len(values) != len(kinds):
        raise BadRequest("The cursor is not valid; start again without it", code="invalid-cursor")
    return tuple(_from_json(v, *kind) for v, kind in zip(values, kinds, strict=True))


# --- searching ------------------------------------------------------------------------------


async def search_games(session: AsyncSession, query: SearchQuery, *, secret: bytes) -> SearchPage:
    """One page of published games matching `query`, with facet counts when asked."""
    validate(query)
    words = words_of(query.q)
    sort: str = query.sort or ("relevance" if words else "top_sellers")
    shape = fingerprint(query, words, sort)
    position = decode_position(secret, query.cursor, shape, sort) if query.cursor else None
    backend = backend_of(session)
    plan = Plan(
        terms=tuple(Term(word, (word,)) for word in words),
        filters=Filters.of(query),
        sort=sort,
        now=query.now,
        fetch=query.limit + 1,
        after=position,
    )
    # Words are taken as typed first: any result proves every word is known (they must all
    # match), so a typo costs its lookups only when a search comes back empty.
    hits = await backend.page(session, plan)
    if not hits and words:
        plan = replace(plan, terms=await resolve_terms(session, backend, words))
        if any(term.corrected for term in plan.terms) and not plan.hopeless:
            hits = await backend.page(session, plan)
    more = len(hits) > query.limit
    hits = hits[: query.limit]
    items = await summaries(session, [hit.game for hit in hits], query.now, query.currency)
    page = SearchPage(
        items=items,
        next_cursor=encode_position(secret, shape, hits[-1].key) if more else None,
    )
    if query.facets:
        everything = replace(plan, after=None)
        counts = Counts() if plan.hopeless else await backend.counts(session, everything)
        page.facets = _facets(counts)
        page.total = counts.total
    return page


def _facets(counts: Counts) -> SearchFacets:
    def by_count(counted: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counted.items(), key=lambda item: (-item[1], item[0]))

    return SearchFacets(
        genres=dict(by_count(counts.genres)),
        tags=dict(by_count(counts.tags)[:TOP_TAGS]),
        platforms={name: counts.platforms.get(name, 0) for name in PLATFORMS},
        price_bands={band: counts.price_bands.get(band, 0) for band in PRICE_BANDS},
    )


SUGGEST_SECONDS = 30  # how long a list of suggestions may be reused (shorter if a price changes)


async def suggest(session: AsyncSession, q: str, limit: int, now: datetime) -> SuggestPage:
    """Search-as-you-type: published games whose title words start with the typed words (typos
    corrected as in search), the most popular first."""
    page, _ = await suggest_with_lifetime(session, q, limit, now)
    return page


async def suggest_with_lifetime(
    session: AsyncSession, q: str, limit: int, now: datetime
) -> tuple[SuggestPage, int]:
    """Suggestions, and for how many seconds they stay true: until a price shown changes (a
    discount starts or ends), SUGGEST_SECONDS at most."""
    if len(q) > MAX_QUERY_LENGTH:
        raise _invalid("q", f"at most {MAX_QUERY_LENGTH} characters")
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise _invalid("limit", f"between 1 and {MAX_SUGGESTIONS}")
    words = words_of(q)
    if not words:
        return SuggestPage(items=[]), SUGGEST_SECONDS
    backend = backend_of(session)
    found = await backend.suggest(session, [Term(word, (word,)) for word in words], limit)
    if not found:  # as in search: typos are looked at only when nothing matched
        terms = await resolve_terms(session, backend, words)
        if any(t.corrected for t in terms) and all(t.words for t in terms):
            found = await backend.suggest(session, terms, limit)
    lifetime = SUGGEST_SECONDS
    for game in found:
        change = next_price_change(game, now)
        if change is not None:
            lifetime = min(lifetime, int((change - now).total_seconds()))
    items = [
        Suggestion(
            app_id=game.app_id,
            title=game.title,
            slug=game.slug,
            header_image=game.header_image,
            final_price=Money(amount=quote(game, now).final, currency="USD"),
        )
        for game in found
    ]
    return SuggestPage(items=items), max(0, lifetime)


# --- keeping the index ------------------------------------------------------------------------


async def reindex_game(session: AsyncSession, game_id: uuid.UUID) -> None:
    """Bring one game's index entry up to date: (re)indexed if published, dropped if not. Call
    it in the transaction that changed the game (pending changes are flushed first)."""
    await session.flush()
    await backend_of(session).reindex(session, game_id)


async def rebuild_index(session: AsyncSession) -> None:
    """Index every published game from scratch, in one go: after a bulk load, or to repair."""
    await session.flush()
    await backend_of(session).rebuild(session)


async def clear_index(session: AsyncSession) -> None:
    """Empty the index in one go: before the catalog itself is emptied (`lugx seed --replace`),
    so games deleted afterwards have nothing left to take out of it one by one."""
    await backend_of(session).clear(session)
