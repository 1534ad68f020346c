"""Demo and load data for the catalog: a believable store, generated from a seed.

- `generate(n_games, seed)` builds the rows of a catalog in memory (no database): `n_games`
  games (type "game"), plus their DLC, soundtracks and a few bundles. Same arguments, same day:
  the same rows, byte for byte (`CatalogData.digest()`).
- `load(ctx_or_db, data)` writes them with Core `insert()` statements run `executemany`, a few
  thousand rows a statement and a transaction a batch, then rebuilds the search index once.
- `seed_demo(ctx)` is the quick start's hook: a small catalog, only into an empty one.

What makes it believable: titles from word lists in several patterns (and sequels), genres with
the tags that go with them, popularity that follows a power law (a few hits, a long tail),
review counts and scores that follow popularity, price tiers, sales running now, DLC of real
base games, bundles of real items, release dates over twenty years with more of them recently.

All dates are relative to `today` (midnight UTC): a catalog seeded today has sales running now
and games coming soon, whenever it is seeded.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import importlib
import importlib.util
import math
import random
import re
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple, TypeVar

import structlog
from sqlalchemy import Dialect, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from lugx.platform.db import Database
from lugx.platform.errors import Conflict, LugxError
from lugx.platform.review_scores import review_description, review_score
from lugx.platform.service import ServiceContext
from lugx.services.catalog import repository as repo
from lugx.services.catalog import seed_words as words
from lugx.services.catalog.models import (
    FEATURES,
    PLATFORMS,
    Base,
    Game,
    Publisher,
    PublisherMember,
)
from lugx.services.catalog.taxonomy import GENRES

log = structlog.get_logger(__name__)

T = TypeVar("T")
TABLES = Base.metadata.tables

DEMO_GAMES = 200
DEMO_SEED = 42
MEDIA_URL = "/api/v1/catalog/media"
APP_ID_STEP = 10  # Steam's app ids step by ten; repository.next_app_id hands them out so too

# --- rows -----------------------------------------------------------------------------------
# One NamedTuple per table, its fields exactly the table's columns: `row._asdict()` is what the
# INSERT takes, and a tuple keeps 100,000 games small in memory.


class PublisherRow(NamedTuple):
    id: uuid.UUID
    name: str
    slug: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class GenreRow(NamedTuple):
    id: int
    slug: str
    name: str


class TagRow(NamedTuple):
    id: int
    slug: str
    name: str


class GameRow(NamedTuple):
    id: uuid.UUID
    app_id: int
    type: str
    status: str
    title: str
    slug: str
    short_description: str
    long_description: str
    developers: list[str]
    publisher_id: uuid.UUID
    publisher_name: str
    release_date: date | None
    coming_soon: bool
    early_access: bool
    age_rating: str | None
    platforms_mask: int
    features_mask: int
    supported_languages: list[str]
    header_image: str | None
    screenshots: list[str]
    trailers: list[str]
    system_requirements: dict[str, Any]
    base_game_id: uuid.UUID | None
    base_price: int
    discount_percent: int | None
    discount_starts_at: datetime | None
    discount_ends_at: datetime | None
    bundle_discount_percent: int
    popularity: int
    review_total: int
    review_positive: int
    review_score: int | None
    review_description: str | None
    recent_review_score: int | None
    recent_review_description: str | None
    is_featured: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class GameGenreRow(NamedTuple):
    game_id: uuid.UUID
    genre_id: int


class GameTagRow(NamedTuple):
    game_id: uuid.UUID
    tag_id: int
    votes: int


class GamePriceRow(NamedTuple):
    game_id: uuid.UUID
    currency: str
    amount: int


class DiscountRow(NamedTuple):
    id: uuid.UUID
    game_id: uuid.UUID
    percent: int
    starts_at: datetime
    ends_at: datetime
    created_by: uuid.UUID | None
    created_at: datetime
    cancelled_at: datetime | None
    start_announced: bool
    end_announced: bool


class BundleItemRow(NamedTuple):
    bundle_id: uuid.UUID
    item_id: uuid.UUID
    position: int


class AppNumberRow(NamedTuple):
    id: int


@dataclass
class CatalogData:
    """A generated catalog: the rows of every table, in insert order."""

    n_games: int
    seed: int
    today: date
    publishers: list[PublisherRow] = field(default_factory=list)
    genres: list[GenreRow] = field(default_factory=list)
    tags: list[TagRow] = field(default_factory=list)
    games: list[GameRow] = field(default_factory=list)
    game_genres: list[GameGenreRow] = field(default_factory=list)
    game_tags: list[GameTagRow] = field(default_factory=list)
    game_prices: list[GamePriceRow] = field(default_factory=list)
    discounts: list[DiscountRow] = field(default_factory=list)
    bundle_items: list[BundleItemRow] = field(default_factory=list)
    app_numbers: list[AppNumberRow] = field(default_factory=list)

    def tables(self) -> list[tuple[Table, Sequence[NamedTuple]]]:
        """Each table with its rows, parents before children."""
        return [
            (TABLES["genres"], self.genres),
            (TABLES["tags"], self.tags),
            (TABLES["publishers"], self.publishers),
            (TABLES["app_numbers"], self.app_numbers),
            (TABLES["games"], self.games),
            (TABLES["game_genres"], self.game_genres),
            (TABLES["game_tags"], self.game_tags),
            (TABLES["game_prices"], self.game_prices),
            (TABLES["discounts"], self.discounts),
            (TABLES["bundle_items"], self.bundle_items),
        ]

    def counts(self) -> dict[str, int]:
        return {table.name: len(rows) for table, rows in self.tables()}

    @property
    def total_rows(self) -> int:
        return sum(self.counts().values())

    def digest(self) -> str:
        """A fingerprint of every row: equal digests, equal catalogs."""
        hasher = hashlib.sha256()
        for table, rows in self.tables():
            hasher.update(table.name.encode())
            for row in rows:
                hasher.update(repr(tuple(row)).encode())
        return hasher.hexdigest()


# --- generation -----------------------------------------------------------------------------


def generate(n_games: int, seed: int, *, today: date | None = None) -> CatalogData:
    """A catalog of `n_games` games with their DLC, soundtracks and bundles. Pure: no database,
    no clock beyond `today` (default: today in UTC)."""
    if n_games < 1:
        raise ValueError("n_games must be at least 1")
    # Millions of small objects and not one cycle among them: the cycle collector would only
    # walk them again and again as they pile up (measured: a third of the time at 100,000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Generator(n_games, seed, today or datetime.now(UTC).date()).run()
    finally:
        if collecting:
            gc.enable()


def slugify(value: str) -> str:
    """The catalog's slug rule (as the service makes them for new listings)."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:200] or "game"


def _cumulative(weights: Iterable[float]) -> list[float]:
    return list(accumulate(weights))


def _zipf_weights(n: int, exponent: float) -> list[float]:
    return _cumulative(1.0 / (rank**exponent) for rank in range(1, n + 1))


DISCOUNT_PERCENTS = tuple(range(10, 95, 5))
_DISCOUNT_WEIGHTS = _cumulative(
    (6, 5, 8, 9, 7, 5, 6, 3, 9, 2, 5, 2, 5, 6, 4, 2, 3)  # 10 % .. 90 %: Steam's usual shape
)
GAME_PRICES = (499, 999, 1499, 1999, 2499, 2999, 3999, 4999, 5999, 6999)
_GAME_PRICE_WEIGHTS = _cumulative((22, 25, 16, 15, 7, 7, 4, 2, 1, 1))
_AAA_PRICES = (3999, 4999, 5999, 6999)
DLC_PRICES = (199, 299, 499, 799, 999, 1499, 1999)
SOUNDTRACK_PRICES = (299, 499, 799, 999)
# Regional prices a publisher would set for each USD tier: (EUR, GBP), in minor units.
REGIONAL_PRICES: dict[int, tuple[int, int]] = {
    199: (199, 169),
    299: (299, 249),
    499: (499, 429),
    799: (799, 679),
    999: (999, 849),
    1499: (1499, 1259),
    1999: (1999, 1699),
    2499: (2499, 2099),
    2999: (2999, 2499),
    3999: (3999, 3399),
    4999: (4999, 4199),
    5999: (5999, 4999),
    6999: (6999, 5999),
}
AGE_RATINGS_MATURE = ("PEGI 16", "PEGI 18")
AGE_RATINGS_ALL = ("PEGI 3", "PEGI 7")
AGE_RATINGS_TEEN = ("PEGI 7", "PEGI 12", "PEGI 16")
_MATURE_GENRES = frozenset({"horror", "shooter", "survival", "stealth"})
_ALL_AGES_GENRES = frozenset(
    {"casual", "puzzle", "sports", "racing", "educational", "rhythm", "card-game"}
)
# Chance of each feature beyond the defaults, for games led by a genre.
_MULTIPLAYER = {"mmo": 1.0, "fighting": 0.7, "shooter": 0.5, "sports": 0.5, "racing": 0.45}
_CO_OP = {"survival": 0.45, "shooter": 0.3, "mmo": 0.6, "action": 0.18, "platformer": 0.15}
_CONTROLLER = frozenset({"action", "platformer", "racing", "sports", "fighting", "rhythm"})
_HEAVY = frozenset({"shooter", "racing", "mmo", "survival", "sports", "rpg", "action"})
_LIGHT = frozenset({"casual", "puzzle", "visual-novel", "card-game", "educational", "rhythm"})
_META_TAGS = ("singleplayer", "multiplayer", "co-op", "vr", "indie", "free-to-play", "early-access")
RELEASE_DAY = timedelta(hours=17)  # Steam releases and sales flip at 10:00 Pacific


NIL = uuid.UUID(int=0)


@dataclass(slots=True)
class _Item:
    """A listing being generated; app ids and slugs are given once all are made and sorted."""

    seq: int
    type: str
    title: str
    developer: int
    release: date
    coming_soon: bool = False
    early_access: bool = False
    genres: list[str] = field(default_factory=list)
    tags: list[tuple[int, int]] = field(default_factory=list)
    base: int | None = None  # a DLC's base game, by seq (an index, not a reference: no cycles)
    extras: list[_Item] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    price: int = 0
    bundle_discount: int = 0
    popularity: int = 0
    quality: float = 0.8
    reviews: tuple[int, int] = (0, 0)
    recent: tuple[int, int] = (0, 0)
    platforms: int = PLATFORMS["windows"]
    features: int = FEATURES["single_player"]
    languages: list[str] = field(default_factory=list)
    age_rating: str | None = None
    requirements: dict[str, Any] = field(default_factory=dict)
    screenshots: int = 0
    short: str = ""
    long: str = ""
    featured: bool = False
    id: uuid.UUID = NIL  # given in app id order, once all are made


class _Words(dict[str, str]):
    """`pattern.format_map(_Words(gen))`: every placeholder draws a fresh word."""

    def __init__(self, draw: Callable[[str], str]) -> None:
        super().__init__()
        self._draw = draw

    def __missing__(self, key: str) -> str:
        return self._draw(key)


class _Generator:
    def __init__(self, n_games: int, seed: int, today: date) -> None:
        self.n = n_games
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
        self.items: list[_Item] = []
        self.base_games: list[_Item] = []
        self.tag_text = ["", *map(_in_text, words.TAGS.values())]  # by tag id, for sentences
        self.genre_ids = {slug: i for i, slug in enumerate(GENRES, start=1)}
        self.tag_ids = {slug: i for i, slug in enumerate(words.TAGS, start=1)}
        self.common_tags = [self.tag_ids[s] for s in words.COMMON_TAGS]
        self.meta_tags = {self.tag_ids[s] for s in _META_TAGS}
        self.genre_tags = {g: [self.tag_ids[s] for s in ts] for g, ts in words.GENRE_TAGS.items()}
        leading = [g for g, w in words.GENRE_WEIGHTS.items() if w]
        self.leading_genres = leading
        self.leading_weights = _cumulative(words.GENRE_WEIGHTS[g] for g in leading)
        self.used_titles: set[str] = set()  # lower case
        self.titles_in_franchise: dict[str, int] = {}
        self.requirements_cache: dict[tuple[int, int, int], dict[str, Any]] = {}
        self.word = _Words(self._draw_word)
        self.ids_given = 0
        self.id_epoch_ms = int((self.midnight - timedelta(days=7400)).timestamp() * 1000)

    # - helpers -

    def next_id(self) -> uuid.UUID:
        """A UUIDv7 (time-ordered: RFC 9562), one millisecond after the previous one. Rows are
        inserted in id order, so every index on an id grows at its end instead of splitting
        pages at random (measured: the link tables load about twice as fast)."""
        self.ids_given += 1
        millis = self.id_epoch_ms + self.ids_given
        random_bits = self.rng.getrandbits(74)
        value = (millis << 80) | (0x7 << 76) | ((random_bits >> 62) << 64) | (0b10 << 62)
        return uuid.UUID(int=value | (random_bits & ((1 << 62) - 1)))

    def between(self, low: int, high: int) -> int:
        """`randint`, without its argument checks (it is called millions of times)."""
        return low + int(self.rng.random() * (high - low + 1))

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.rng.random() * len(options))]

    def weighted(self, options: Sequence[T], cumulative: Sequence[float]) -> T:
        return options[bisect.bisect(cumulative, self.rng.random() * cumulative[-1])]

    def at(self, day: date, extra: timedelta = RELEASE_DAY) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + extra

    def _draw_word(self, kind: str) -> str:
        pick = self.pick
        if kind == "adj":
            return pick(words.ADJECTIVES)
        if kind == "noun":
            return pick(words.NOUNS)
        if kind == "plural":
            return pick(words.PLURALS)
        if kind == "place":
            return pick(words.PLACE_HEADS) + pick(words.PLACE_TAILS)
        if kind == "compound":
            return pick(words.COMPOUND_HEADS) + pick(words.COMPOUND_TAILS)
        if kind == "subtitle":
            return pick(words.SUBTITLES).format_map(self.word)
        if kind == "sim":
            return pick(words.SIM_SUBJECTS)
        if kind == "sport":
            return pick(words.SPORTS)
        if kind == "sport_word":
            return pick(words.SPORT_WORDS)
        if kind == "race":
            return pick(words.RACE_WORDS)
        raise KeyError(kind)

    # - the whole catalog -

    def run(self) -> CatalogData:
        self.publishers = self._publishers()
        self.developers = self._developers()
        releases = self._release_dates()
        # Popularity rank of each game, in release order: 1..n shuffled.
        self.ranks = list(range(1, self.n + 1))
        self.rng.shuffle(self.ranks)
        for index, release in enumerate(releases):
            self._base_game(index, release)
        self._bundles()
        self._feature()
        data = self._rows()
        # The word source refers back to the generator: let go of it, so the generator and its
        # drafts are freed at once (the cycle collector is off while generating).
        del self.word
        return data

    def _unique_names(self, patterns: Sequence[str], count: int) -> list[str]:
        names: dict[str, None] = {}
        while len(names) < count:
            name = self.pick(patterns).format_map(self.word)
            if name in names:
                name = f"{name} {len(names)}"
            names[name] = None
        return list(names)

    def _publishers(self) -> list[PublisherRow]:
        count = max(3, round(self.n / 50))
        rows: list[PublisherRow] = []
        slugs: set[str] = set()
        for name in self._unique_names(words.PUBLISHER_PATTERNS, count):
            slug = slugify(name)[:60].strip("-")
            while slug in slugs:
                slug = f"{slug[:54]}-{len(slugs)}"
            slugs.add(slug)
            founded = self.midnight - timedelta(days=7300 + self.between(0, 3649))
            rows.append(PublisherRow(self.next_id(), name, slug, None, founded, founded))
        self.publisher_weights = _zipf_weights(count, 0.8)
        return rows

    def _developers(self) -> list[tuple[str, int, bool]]:
        """(name, publisher index, indie?) for about one studio per five games."""
        count = max(5, self.n // 5)
        publishers = list(range(len(self.publishers)))
        developers = []
        for name in self._unique_names(words.DEVELOPER_PATTERNS, count):
            publisher = self.weighted(publishers, self.publisher_weights)
            indie = self.rng.random() < (0.15 if publisher < 10 else 0.75)
            developers.append((name, publisher, indie))
        self.developer_weights = _zipf_weights(count, 0.5)
        return developers

    def _release_dates(self) -> list[date]:
        """More releases every year (as on Steam), about 3 % still to come; oldest first."""
        dates = []
        for _ in range(self.n):
            if self.rng.random() < 0.03:
                dates.append(self.today + timedelta(days=self.between(7, 365)))
            else:
                # The density grows as the square of time: most games are recent, as on Steam.
                days_ago = int(7300 * (1 - self.rng.random() ** (1 / 3)))
                dates.append(self.today - timedelta(days=days_ago))
        return sorted(dates)

    # - games -

    def _base_game(self, index: int, release: date) -> None:
        rng = self.rng
        earlier = self._sequel_candidate(index)
        game = _Item(
            seq=len(self.items),
            type="game",
            title="",
            developer=earlier.developer
            if earlier
            else self.weighted(range(len(self.developers)), self.developer_weights),
            release=release,
            coming_soon=release > self.today,
        )
        self.items.append(game)
        self.base_games.append(game)
        rank = self.ranks[index]
        fame = max(0.0, 1.0 - math.log10(rank) / math.log10(self.n + 10))
        game.genres = list(earlier.genres) if earlier else self._genres()
        game.features = self._features(game.genres[0])
        game.platforms = self._platforms(self.developers[game.developer][2])
        if self.developers[game.developer][2] and "indie" not in game.genres:
            game.genres.append("indie")
        multiplayer = bool(game.features & FEATURES["multiplayer"])
        free = rng.random() < 0.04 + (0.2 if multiplayer else 0) + (
            0.35 if "mmo" in game.genres else 0
        )
        game.early_access = (
            not game.coming_soon and (self.today - release).days < 1100 and rng.random() < 0.12
        )
        game.popularity = self._popularity(rank, game.coming_soon)
        game.price = 0 if free else self._game_price(rank)
        game.title = self._sequel_title(game, earlier) if earlier else self._title(game)
        game.quality = min(0.99, rng.betavariate(5 + 5 * fame, 1.6))
        self._reviews(game)
        game.tags = self._tags(game, fame, free)
        game.languages = self._languages(fame)
        game.age_rating = self._age_rating(game.genres[0], self.developers[game.developer][2])
        game.requirements = self._requirements(release.year, game.genres[0])
        game.screenshots = self.between(3, 8)
        game.short, game.long = self._game_text(game)
        if not game.coming_soon:
            self._extras(game, fame)

    def _sequel_candidate(self, index: int) -> _Item | None:
        if index < 20 or self.rng.random() >= 0.05:
            return None
        earlier = self.pick(self.base_games)
        if earlier.coming_soon or any(ch.isdigit() for ch in earlier.title):
            return None
        return earlier

    def _genres(self) -> list[str]:
        primary = self.weighted(self.leading_genres, self.leading_weights)
        related = words.RELATED_GENRES[primary]
        genres = [primary]
        extra = self.weighted((0, 1, 2), (35, 80, 100))
        for _ in range(extra):
            genre = self.pick(related)
            if genre not in genres:
                genres.append(genre)
        return genres

    def _features(self, genre: str) -> int:
        rng = self.rng
        mask = 0
        if rng.random() < (0.2 if genre == "mmo" else 0.93):
            mask |= FEATURES["single_player"]
        if rng.random() < _MULTIPLAYER.get(genre, 0.12):
            mask |= FEATURES["multiplayer"]
        if rng.random() < _CO_OP.get(genre, 0.08):
            mask |= FEATURES["co_op"]
        if rng.random() < (0.75 if genre in _CONTROLLER else 0.3):
            mask |= FEATURES["controller"]
        if rng.random() < (0.15 if genre == "rhythm" else 0.015):
            mask |= FEATURES["vr"]
        return mask or FEATURES["single_player"]

    def _platforms(self, indie: bool) -> int:
        rng = self.rng
        mask = PLATFORMS["windows"] if rng.random() >= 0.005 else 0
        mac = rng.random() < (0.32 if indie else 0.15) or not mask
        if mac:
            mask |= PLATFORMS["mac"]
        if rng.random() < (0.6 if mac else 0.04):
            mask |= PLATFORMS["linux"]
        return mask

    def _popularity(self, rank: int, coming_soon: bool) -> int:
        """A power law over the rank: the top game ~5 million, the median ~30,000 times
        less; a game not yet out has only its wishlists."""
        value = 5_000_000 / rank**0.95 * self.rng.uniform(0.85, 1.15)
        return max(1, int(value / (5 if coming_soon else 1)))

    def _game_price(self, rank: int) -> int:
        if rank <= self.n * 0.02 and self.rng.random() < 0.6:
            return self.pick(_AAA_PRICES)
        return self.weighted(GAME_PRICES, _GAME_PRICE_WEIGHTS)

    def _title(self, game: _Item) -> str:
        own = words.GENRE_TITLE_PATTERNS.get(game.genres[0], ())
        year = game.release.year + (1 if game.release.month >= 9 else 0)
        for _ in range(4):
            pattern = self.pick(own) if own and self.rng.random() < 0.35 else None
            pattern = pattern or self.pick(words.TITLE_PATTERNS)
            title = pattern.replace("{year}", str(year)).format_map(self.word)
            if title.lower() not in self.used_titles:  # else the slug would need a suffix
                break
        self.used_titles.add(title.lower())
        return title

    def _sequel_title(self, game: _Item, earlier: _Item) -> str:
        root = earlier.title
        number = self.titles_in_franchise.get(root, 1) + 1
        self.titles_in_franchise[root] = number
        numeral = words.ROMAN[number] if number < len(words.ROMAN) else str(number)
        arabic = int(hashlib.md5(root.encode(), usedforsecurity=False).hexdigest(), 16) % 3 == 0
        title = f"{root} {number if arabic else numeral}"
        self.used_titles.add(title.lower())
        return title

    def _reviews(self, item: _Item) -> None:
        """Review counts follow popularity; the score follows the game's quality."""
        if item.coming_soon:
            return
        rng = self.rng
        total = int(item.popularity * rng.uniform(0.02, 0.09))
        if total and rng.random() < 0.3:
            total += self.between(0, 12)  # friends, family and curators
        positive = min(total, round(total * min(1.0, rng.gauss(item.quality, 0.02))))
        item.reviews = (total, max(0, positive))
        days_out = (self.today - item.release).days
        recent = int(total * rng.uniform(0.01, 0.12) * (3.0 if days_out < 60 else 1.0))
        if recent >= 10:
            mood = min(1.0, max(0.0, item.quality + rng.uniform(-0.12, 0.08)))
            item.recent = (min(recent, total), round(min(recent, total) * mood))

    def _tags(self, game: _Item, fame: float, free: bool) -> list[tuple[int, int]]:
        """5-20 tags: the lead genre's own first, then more of the genres' and common ones;
        votes fall off as a power law."""
        rng = self.rng
        ids = self.tag_ids
        wanted = min(20, 5 + int(15 * fame * rng.uniform(0.5, 1.0)) + self.between(0, 3))
        chosen: dict[int, None] = {self.genre_tags[game.genres[0]][0]: None}
        for slug, present in (
            ("singleplayer", game.features & FEATURES["single_player"] and rng.random() < 0.8),
            ("multiplayer", game.features & FEATURES["multiplayer"]),
            ("co-op", game.features & FEATURES["co_op"]),
            ("vr", game.features & FEATURES["vr"]),
            ("indie", "indie" in game.genres),
            ("free-to-play", free),
            ("early-access", game.early_access),
        ):
            if present:
                chosen[ids[slug]] = None
        lists = [self.genre_tags[g] for g in game.genres if g != "indie"]
        lists = [lists[0], *lists]  # the lead genre twice as likely
        for _ in range(wanted * 3):
            if len(chosen) >= wanted:
                break
            if rng.random() < 0.6:
                pool = lists[int(rng.random() * len(lists))]
                chosen[pool[int(len(pool) * rng.random() ** 1.6)]] = None
            else:
                pool = self.common_tags
                chosen[pool[int(len(pool) * rng.random() ** 2)]] = None
        top = max(3, int(game.reviews[0] * rng.uniform(0.05, 0.25)) + self.between(1, 30))
        return [
            (tag, max(1, int(top / (k + 1) ** 0.85 * rng.uniform(0.8, 1.2))))
            for k, tag in enumerate(list(chosen)[:20])
        ]

    def _languages(self, fame: float) -> list[str]:
        rng = self.rng
        chosen = ["English"]
        for position, language in enumerate(words.LANGUAGES[1:]):
            if rng.random() < fame * 0.95 * 0.88**position + 0.02:
                chosen.append(language)
        return chosen

    def _age_rating(self, genre: str, indie: bool) -> str | None:
        if self.rng.random() < (0.5 if indie else 0.1):
            return None
        if genre in _MATURE_GENRES:
            return self.pick(AGE_RATINGS_MATURE)
        if genre in _ALL_AGES_GENRES:
            return self.pick(AGE_RATINGS_ALL)
        return self.pick(AGE_RATINGS_TEEN)

    def _requirements(self, year: int, genre: str) -> dict[str, Any]:
        heaviness = 2 if genre in _HEAVY else 0 if genre in _LIGHT else 1
        era = next(i for i, e in enumerate(words.REQUIREMENT_ERAS) if year <= e[0])
        era = max(0, era - (1 if heaviness == 0 else 0))
        size = words.STORAGE_GB[heaviness][int(self.rng.random() * 3)]
        key = (era, heaviness, size)
        if key not in self.requirements_cache:
            _, os_name, cpu, memory, gpu, rec_cpu, rec_memory, rec_gpu = words.REQUIREMENT_ERAS[era]
            storage = f"{size} GB available space"
            self.requirements_cache[key] = {
                "minimum": {
                    "os": os_name,
                    "processor": cpu,
                    "memory": memory,
                    "graphics": gpu,
                    "storage": storage,
                },
                "recommended": {
                    "os": os_name,
                    "processor": rec_cpu,
                    "memory": rec_memory,
                    "graphics": rec_gpu,
                    "storage": storage,
                },
            }
        return self.requirements_cache[key]

    # - descriptions -

    def _game_text(self, game: _Item) -> tuple[str, str]:
        rng, pick = self.rng, self.pick
        # The game's own tags, not the ones every other game has too (singleplayer, indie...).
        tags = [self.tag_text[t] for t, _ in game.tags if t not in self.meta_tags]
        tag1, tag2, tag3 = ((tags[1:] or tags) * 3)[:3]
        kind = words.GENRE_NOUNS[game.genres[0]]
        tone = pick(words.TONES)
        hero, goal, setting = pick(words.HEROES), pick(words.GOALS), pick(words.SETTINGS)
        title = game.title
        short = pick(
            (
                f"{title} is {_a(tone)} {tone} {kind} about {hero} who {goal}.",
                f"Explore {setting} in {title}, {_a(tone)} {tone} {kind} of {tag1} and {tag2}.",
                f"{hero[0].upper()}{hero[1:]} {goal} in this {tone} {kind} set in {setting}.",
                f"{_a(tone).capitalize()} {tone} {kind} set in {setting}: {hero} {goal}.",
            )
        )
        mix = f"{title} mixes {tag1}, {tag2} and {tag3} into one {kind}."
        others = [f"{words.GENRE_NOUNS[g]}s" for g in game.genres[1:] if g != "indie"]
        if others:
            mix += f" Fans of {_and(others)} will feel at home."
        features = "\n".join(
            f"- {self._feature_line(line, tags)}"
            for line in rng.sample(words.FEATURE_LINES, self.between(3, 5))
        )
        long = f"{short}\n\n{mix} Set in {setting}.\n\nFeatures:\n{features}"
        return short, f"{long}\n\n{self._modes(game)}"

    def _feature_line(self, line: str, tags: Sequence[str]) -> str:
        return _capitalised(
            line.format(
                n=self.between(12, 120),
                m=self.between(2, 30),
                h=self.pick((5, 10, 20, 40, 60, 100)),
                tag=self.pick(tags),
                tag2=self.pick(tags),
            )
        )

    def _modes(self, item: _Item) -> str:
        parts = []
        if item.features & FEATURES["single_player"]:
            parts.append("Play solo")
        if item.features & FEATURES["co_op"]:
            parts.append("team up in co-op")
        if item.features & FEATURES["multiplayer"]:
            parts.append("take on players online")
        sentence = ", ".join(parts).capitalize() + "." if parts else ""
        if item.features & FEATURES["controller"]:
            sentence += " Full controller support."
        if item.features & FEATURES["vr"]:
            sentence += " Playable in VR."
        languages = (
            "in English" if len(item.languages) == 1 else f"in {len(item.languages)} languages"
        )
        return f"{sentence} Available {languages}.".strip()

    # - DLC, soundtracks, bundles -

    def _extras(self, game: _Item, fame: float) -> None:
        rng = self.rng
        days_out = (self.today - game.release).days
        if days_out > 30 and rng.random() < 0.08 + 0.3 * fame:
            for _ in range(min(5, 1 + int(rng.random() ** 2 * 5 * (0.5 + fame)))):
                game.extras.append(self._dlc(game, days_out))
        if days_out > 0 and rng.random() < 0.05:
            game.extras.append(self._soundtrack(game))

    def _child(self, base: _Item, kind: str, title: str, release: date, price: int) -> _Item:
        rng = self.rng
        item = _Item(
            seq=len(self.items),
            type=kind,
            title=title,
            developer=base.developer,
            release=release,
            genres=list(base.genres),
            base=base.seq if kind == "dlc" else None,
            price=price,
            platforms=base.platforms,
            features=base.features,
            languages=list(base.languages),
            age_rating=base.age_rating,
            requirements=base.requirements,
        )
        self.items.append(item)
        share = rng.uniform(0.02, 0.3) if kind == "dlc" else rng.uniform(0.005, 0.03)
        item.popularity = max(1, int(base.popularity * share))
        item.quality = min(0.99, max(0.05, base.quality + rng.uniform(-0.15, 0.05)))
        self._reviews(item)
        keep = self.between(3, 8)
        item.tags = [(tag, max(1, votes // 10)) for tag, votes in base.tags[:keep]]
        return item

    def _dlc(self, base: _Item, days_out: int) -> _Item:
        release = base.release + timedelta(days=self.between(1, min(1500, days_out)))
        title = self.pick(words.DLC_PATTERNS).replace("{base}", base.title)
        dlc = self._child(base, "dlc", title.format_map(self.word), release, self.pick(DLC_PRICES))
        dlc.screenshots = self.between(1, 4)
        things = self.pick(("missions", "maps", "characters", "outfits", "weapons", "chapters"))
        dlc.short = (
            f"Expand {base.title} with {self.between(2, 40)} new {things}. "
            f"Requires the base game {base.title}."
        )
        dlc.long = f"{dlc.short}\n\n{base.short}"
        return dlc

    def _soundtrack(self, base: _Item) -> _Item:
        title = self.pick(words.SOUNDTRACK_PATTERNS).format(base=base.title)
        ost = self._child(base, "soundtrack", title, base.release, self.pick(SOUNDTRACK_PRICES))
        ost.features = 0
        ost.requirements = {}
        ost.tags = [(self.tag_ids["soundtrack"], max(1, ost.popularity // 50)), *ost.tags[:4]]
        tracks = self.between(8, 60)
        ost.short = f"The original soundtrack of {base.title}: {tracks} tracks."
        ost.long = f"{ost.short}\n\nIncludes MP3 and FLAC files of the score."
        return ost

    def _bundles(self) -> None:
        """About 1 % of the games get a bundle of themselves and their extras (2-5 items)."""
        rng = self.rng
        with_extras = [g for g in self.items if g.type == "game" and g.extras]
        count = min(len(with_extras), max(1, round(self.n * 0.01)))
        for base in sorted(rng.sample(with_extras, count), key=lambda g: g.seq):
            parts = [base, *base.extras[:4]]
            title = self.pick(words.BUNDLE_PATTERNS).format(base=base.title)
            bundle = _Item(
                seq=len(self.items),
                type="bundle",
                title=title,
                developer=base.developer,
                release=max(p.release for p in parts),
                genres=list(base.genres),
                items=parts,
                price=sum(p.price for p in parts),
                bundle_discount=self.pick((10, 15, 20, 25, 30, 35, 40)),
                platforms=base.platforms,
                features=base.features,
                languages=list(base.languages),
                age_rating=base.age_rating,
                requirements=base.requirements,
                popularity=max(1, base.popularity // 20),
                tags=[(tag, max(1, votes // 20)) for tag, votes in base.tags[:5]],
            )
            listing = ", ".join(p.title for p in parts)
            bundle.short = (
                f"Get all {len(parts)} items together and save {bundle.bundle_discount}%: "
                f"{listing}."
            )[:500]
            bundle.long = f"{bundle.short}\n\n{base.short}"
            self.items.append(bundle)

    def _feature(self) -> None:
        """A handful of recent hits for the front page."""
        wanted = min(12, max(3, self.n // 25))
        recent = [
            g
            for g in self.items
            if g.type == "game" and not g.coming_soon and (self.today - g.release).days < 730
        ]
        recent.sort(key=lambda g: (-g.popularity, g.seq))
        for game in recent[:wanted]:
            game.featured = True

    # - rows -

    def _rows(self) -> CatalogData:
        data = CatalogData(n_games=self.n, seed=self.seed, today=self.today)
        data.genres = [GenreRow(i, slug, GENRES[slug]) for slug, i in self.genre_ids.items()]
        data.tags = [TagRow(i, slug, words.TAGS[slug]) for slug, i in self.tag_ids.items()]
        data.publishers = self.publishers
        ordered = sorted(self.items, key=lambda item: (item.release, item.seq))
        for item in ordered:
            item.id = self.next_id()
        app_ids = {item.seq: number * APP_ID_STEP for number, item in enumerate(ordered, start=1)}
        data.app_numbers = [AppNumberRow(number) for number in range(1, len(ordered) + 1)]
        slugs: set[str] = set()
        for item in ordered:
            app_id = app_ids[item.seq]
            slug = slugify(item.title)
            if slug in slugs:
                slug = f"{slug}-{app_id}"
            slugs.add(slug)
            data.games.append(self._game_row(item, app_id, slug, data))
            data.game_genres.extend(GameGenreRow(item.id, self.genre_ids[g]) for g in item.genres)
            data.game_tags.extend(GameTagRow(item.id, tag, votes) for tag, votes in item.tags)
            data.bundle_items.extend(
                BundleItemRow(item.id, part.id, position)
                for position, part in enumerate(item.items)
            )
            self._prices(item, data)
        return data

    def _game_row(self, item: _Item, app_id: int, slug: str, data: CatalogData) -> GameRow:
        developer, publisher_index, _ = self.developers[item.developer]
        publisher = self.publishers[publisher_index]
        published = self.at(item.release) - timedelta(days=self.between(0, 60))
        published = min(published, self.midnight - timedelta(minutes=self.between(1, 1439)))
        if item.coming_soon:
            published = self.midnight - timedelta(days=self.between(1, 200))
        created = published - timedelta(days=self.between(1, 90), minutes=self.between(0, 1439))
        updated = min(self.midnight, published + timedelta(days=self.between(0, 400)))
        current = self._discounts(item, data)
        media = f"{MEDIA_URL}/{app_id}"
        total, positive = item.reviews
        recent_total, recent_positive = item.recent
        return GameRow(
            id=item.id,
            app_id=app_id,
            type=item.type,
            status="published",
            title=item.title[:200],
            slug=slug,
            short_description=item.short,
            long_description=item.long,
            developers=[developer],
            publisher_id=publisher.id,
            publisher_name=publisher.name,
            release_date=item.release,
            coming_soon=item.coming_soon,
            early_access=item.early_access,
            age_rating=item.age_rating,
            platforms_mask=item.platforms,
            features_mask=item.features,
            supported_languages=item.languages,
            header_image=f"{media}/header.svg",
            screenshots=[f"{media}/screenshot-{n}.svg" for n in range(1, item.screenshots + 1)],
            trailers=[],
            system_requirements=item.requirements,
            base_game_id=None if item.base is None else self.items[item.base].id,
            base_price=item.price,
            discount_percent=current.percent if current else None,
            discount_starts_at=current.starts_at if current else None,
            discount_ends_at=current.ends_at if current else None,
            bundle_discount_percent=item.bundle_discount,
            popularity=item.popularity,
            review_total=total,
            review_positive=positive,
            review_score=review_score(total, positive),
            review_description=review_description(total, positive),
            recent_review_score=review_score(recent_total, recent_positive),
            recent_review_description=review_description(recent_total, recent_positive),
            is_featured=item.featured,
            published_at=published,
            created_at=created,
            updated_at=max(updated, created),
        )

    def _discounts(self, item: _Item, data: CatalogData) -> DiscountRow | None:
        """Past sales (history), a sale running now for ~15 %, a few scheduled. Returns the one
        the game row mirrors: running now, else the next to come."""
        if item.price == 0 or item.coming_soon or item.type == "bundle":
            return None
        rng = self.rng
        days_out = (self.today - item.release).days
        if days_out > 60 and rng.random() < 0.2:
            end = self.at(self.today - timedelta(days=self.between(15, min(700, days_out - 30))))
            start = end - timedelta(days=self.between(3, 14))
            data.discounts.append(self._discount(item, start, end, announced=True))
        roll = rng.random()
        if roll < 0.15:
            start = self.at(self.today - timedelta(days=self.between(1, 13)))
            # Some end within days, most within two weeks.
            end = self.at(self.today + timedelta(days=self.pick((1, 2, 3, 5, 7, 9, 11, 14))))
            current = self._discount(item, start, end, announced=True)
        elif roll < 0.17:
            start = self.at(self.today + timedelta(days=self.between(1, 10)))
            current = self._discount(item, start, start + timedelta(days=self.between(7, 14)))
        else:
            return None
        data.discounts.append(current)
        return current

    def _discount(
        self, item: _Item, start: datetime, end: datetime, *, announced: bool = False
    ) -> DiscountRow:
        """`announced`: the start (and, for one over, the end) counts as already announced, so
        the catalog's discount loop does not publish events for history."""
        percent: int = self.weighted(DISCOUNT_PERCENTS, _DISCOUNT_WEIGHTS)
        created = min(start, self.midnight) - timedelta(days=self.between(1, 20))
        return DiscountRow(
            id=self.next_id(),
            game_id=item.id,
            percent=percent,
            starts_at=start,
            ends_at=end,
            created_by=None,
            created_at=created,
            cancelled_at=None,
            start_announced=announced,
            end_announced=announced and end <= self.midnight,
        )

    def _prices(self, item: _Item, data: CatalogData) -> None:
        if item.price and item.type != "bundle" and self.rng.random() < 0.3:
            eur, gbp = REGIONAL_PRICES[item.price]
            data.game_prices.append(GamePriceRow(item.id, "EUR", eur))
            data.game_prices.append(GamePriceRow(item.id, "GBP", gbp))


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _in_text(tag_name: str) -> str:
    """A tag's name inside a sentence: "open world", "party-based RPG", "2D"."""
    return " ".join(
        word if word.isupper() or word[0].isdigit() else word.lower() for word in tag_name.split()
    )


# --- loading --------------------------------------------------------------------------------

Progress = Callable[[str, int], None]  # (table, rows just written)

BATCH_ROWS = 5_000  # games: wide rows
BATCH_ROWS_NARROW = 20_000  # link tables: a few small columns a row


@dataclass
class LoadReport:
    rows: dict[str, int]
    insert_seconds: float
    index_seconds: float | None  # None: the catalog has no search index to rebuild (yet)

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
    collecting = gc.isenabled()
    gc.disable()  # as in generate(): nothing here makes cycles, and there is a lot of it
    try:
        async with _bulk_writes(db):
            for table, rows, batch_rows in plan:
                await _insert(db, table, rows, batch_rows, progress)
            if db.dialect == "postgresql":
                await _advance_sequences(db)
            inserted = time.perf_counter() - started
            index_seconds = await _rebuild_search_index(db)
    finally:
        if collecting:
            gc.enable()
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
    before = await _sqlite_pragma(db, "PRAGMA synchronous")
    await _sqlite_pragma(db, "PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        await _sqlite_pragma(db, f"PRAGMA synchronous={int(before or 0)}")


async def _sqlite_pragma(db: Database, statement: str) -> Any:
    async with db.writer.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        cursor = await driver.execute(statement)
        row = await cursor.fetchone()
        await cursor.close()
        return row[0] if row else None


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


def _search_hook(name: str) -> Callable[[AsyncSession], Awaitable[None]] | None:
    """`search.<name>(session)`, when this build's search index offers it."""
    if importlib.util.find_spec("lugx.services.catalog.search") is None:
        return None
    hook: Callable[[AsyncSession], Awaitable[None]] | None = getattr(
        importlib.import_module("lugx.services.catalog.search"), name, None
    )
    return hook


async def _rebuild_search_index(db: Database) -> float | None:
    """Rebuild the search index in one go, when the catalog has one that can."""
    rebuild = _search_hook("rebuild_index")
    if rebuild is None:
        return None
    started = time.perf_counter()
    async with db.session() as session:
        await rebuild(session)
    # Fresh statistics: without them the query planner picks poor indexes for a bulk-loaded
    # catalog (measured: a game page's DLC lookup took 110 ms instead of under a millisecond).
    async with db.session() as session:
        await session.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def _forget_cached_pages(ctx: ServiceContext) -> None:
    """Shelves cached before the load would hide the new games: move to a new generation."""
    try:
        from lugx.services.catalog.service import GENERATION_KEY
    except ImportError:  # the service layer is not complete in this build
        return
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
    clear_index = _search_hook("clear_index")
    async with _database(target).session() as session:
        if clear_index is not None:
            await clear_index(session)
        for name in CLEARED_TABLES:
            await session.execute(TABLES[name].delete())


async def count_games(target: ServiceContext | Database) -> int:
    async with _database(target).session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(Game))).scalar_one())


# --- the quick start ------------------------------------------------------------------------


DEMO_PUBLISHER_LOGIN = "studio"


async def seed_demo(ctx: ServiceContext) -> None:
    """`lugx up`'s first start: a small store to browse, only into an empty catalog."""
    async with ctx.db.session(write=False) as session:
        if not await catalog_is_empty(session):
            return
    report = await load(ctx, generate(DEMO_GAMES, DEMO_SEED))
    log.info("demo catalog loaded", games=report.rows["games"])
    await _adopt_demo_publisher(ctx)


async def _adopt_demo_publisher(ctx: ServiceContext) -> None:
    """Make the demo `studio` account (README) a member of the demo publisher with the most
    games, so the publisher's journey works from the first start."""
    from lugx.services.users.client import UsersClient  # the users service's public client

    try:
        studio = await ctx.clients.get(UsersClient).profile(DEMO_PUBLISHER_LOGIN)
    except LugxError:
        log.info("no demo publisher account to link", login=DEMO_PUBLISHER_LOGIN)
        return
    async with ctx.db.session() as session:
        busiest = (
            await session.execute(
                select(Game.publisher_id)
                .group_by(Game.publisher_id)
                .order_by(func.count().desc(), Game.publisher_id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if busiest is not None and not await repo.is_member(session, busiest, studio.id):
            session.add(PublisherMember(publisher_id=busiest, user_id=studio.id, role="owner"))
