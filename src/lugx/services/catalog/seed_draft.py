"""The generator's building blocks (seed_generate.py): a listing being drafted, and the seeded
random source every choice is drawn from. The order of the draws is the catalog: same seed, same
draws, same rows."""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any, TypeVar

from lugx.services.catalog.models import FEATURES, PLATFORMS

T = TypeVar("T")
NIL = uuid.UUID(int=0)
RELEASE_DAY = timedelta(hours=17)  # Steam releases and sales flip at 10:00 Pacific


def cumulative(weights: Iterable[float]) -> list[float]:
    return list(accumulate(weights))


def zipf_weights(n: int, exponent: float) -> list[float]:
    return cumulative(1.0 / (rank**exponent) for rank in range(1, n + 1))


@dataclass(slots=True)
class Draft:
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
    extras: list[Draft] = field(default_factory=list)
    items: list[Draft] = field(default_factory=list)
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


class Dice:
    """The seeded random source, with the few draws the generator makes millions of times."""

    def __init__(self, seed: int, midnight: datetime) -> None:
        self.rng = random.Random(seed)
        self.ids_given = 0
        self.id_epoch_ms = int((midnight - timedelta(days=7400)).timestamp() * 1000)

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
