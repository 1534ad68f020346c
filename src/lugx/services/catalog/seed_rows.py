"""The rows of a generated catalog (seed_generate.py makes them, seed_load.py writes them).

One NamedTuple per table, its fields exactly the table's columns: `row._asdict()` is what the
INSERT takes, and a tuple keeps 100,000 games small in memory.
"""

from __future__ import annotations

import gc
import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table

from lugx.services.catalog.models import Base

TABLES = Base.metadata.tables


@contextmanager
def without_cycle_collector() -> Iterator[None]:
    """For making or writing rows: millions of small objects and not one cycle among them, so the
    cycle collector would only walk them again and again as they pile up (measured: a third of
    the generator's time at 100,000 games)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


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
    review_revision: int
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
