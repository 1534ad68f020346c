"""The catalog's tables: publishers, games (and DLC, soundtracks, bundles), genres, tags,
regional prices, discounts. No other service reads them.

Platforms and features are bit masks on the game row: filtering and facet counts on them are one
integer test per row on SQLite and PostgreSQL alike. The game row also carries denormalised read
data (its current or next discount, its review score, its popularity) so a search or a shelf is
answered from one table plus the search index.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lugx.platform.db import Timestamps, UTCDateTime, UUIDPrimaryKey, new_metadata, utcnow
from lugx.platform.events import event_tables

GAME_TYPES = ("game", "dlc", "soundtrack", "bundle")
STATUSES = ("draft", "published", "unpublished")
PLATFORMS = {"windows": 1, "mac": 2, "linux": 4}
FEATURES = {"single_player": 1, "multiplayer": 2, "co_op": 4, "controller": 8, "vr": 16}


def mask_of(names: Sequence[str], bits: dict[str, int]) -> int:
    mask = 0
    for name in names:
        mask |= bits[name]
    return mask


def names_of(mask: int, bits: dict[str, int]) -> list[str]:
    return [name for name, bit in bits.items() if mask & bit]


class Base(DeclarativeBase):
    metadata = new_metadata()


EVENTS = event_tables(Base.metadata)


class AppNumber(Base):
    """Hands out integer `app_id`s portably (SQLite has no sequences)."""

    __tablename__ = "app_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class Publisher(UUIDPrimaryKey, Timestamps, Base):
    """A publishing organisation. Its members (users with the publisher role) manage its games."""

    __tablename__ = "publishers"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    slug: Mapped[str] = mapped_column(String(140), unique=True, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column()


class PublisherMember(Base):
    __tablename__ = "publisher_members"

    publisher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("publishers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="member")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Game(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "games"
    __table_args__ = (
        Index("ix_games_status_type", "status", "type"),
        Index("ix_games_release_date", "release_date"),
        Index("ix_games_popularity", "popularity"),
        Index("ix_games_base_price", "base_price"),
        Index("ix_games_review_score", "review_score"),
        # Search (migration 0002): what a search reads of a matched game to filter and sort
        # it, so it never touches the wide row.
        Index(
            "ix_games_search",
            "app_id",
            "status",
            "base_price",
            "discount_percent",
            "discount_starts_at",
            "discount_ends_at",
            "release_date",
            "popularity",
            "review_score",
            "review_total",
            "platforms_mask",
        ),
    )

    app_id: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False, default="game")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(220), unique=True, nullable=False)
    short_description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    long_description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    developers: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    publisher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("publishers.id"), nullable=False, index=True
    )
    publisher_name: Mapped[str] = mapped_column(String(120), nullable=False)
    release_date: Mapped[date | None] = mapped_column(Date)
    coming_soon: Mapped[bool] = mapped_column(nullable=False, default=False)
    early_access: Mapped[bool] = mapped_column(nullable=False, default=False)
    age_rating: Mapped[str | None] = mapped_column(String(16))
    platforms_mask: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    features_mask: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    supported_languages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    header_image: Mapped[str | None] = mapped_column(String(2048))
    screenshots: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    trailers: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    system_requirements: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    base_game_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("games.id", ondelete="SET NULL"), index=True
    )

    # Price in the store's base currency (USD), minor units; 0 is free. Regional prices are in
    # game_prices. The current or next discount is copied here from `discounts` so the final
    # price can be computed in SQL (filters, sorts) for the moment a request is made.
    base_price: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    discount_percent: Mapped[int | None] = mapped_column(Integer)
    discount_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discount_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bundle_discount_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    # Read models fed by other services' events.
    popularity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    review_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    review_positive: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    review_score: Mapped[int | None] = mapped_column(Integer)
    review_description: Mapped[str | None] = mapped_column(String(40))
    recent_review_score: Mapped[int | None] = mapped_column(Integer)
    recent_review_description: Mapped[str | None] = mapped_column(String(40))
    # The reviews service's revision of the summary above: an older one arriving late is ignored.
    review_revision: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )

    is_featured: Mapped[bool] = mapped_column(nullable=False, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GamePrice(Base):
    """A regional price a publisher set, in that currency's minor units."""

    __tablename__ = "game_prices"

    game_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("games.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)


class GameGenre(Base):
    __tablename__ = "game_genres"

    game_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("games.id", ondelete="CASCADE"), primary_key=True
    )
    genre_id: Mapped[int] = mapped_column(
        ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)


class GameTag(Base):
    """A tag players (or the publisher) put on a game, with how many did."""

    __tablename__ = "game_tags"

    game_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("games.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    votes: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class BundleItem(Base):
    __tablename__ = "bundle_items"

    bundle_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("games.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("games.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Discount(UUIDPrimaryKey, Base):
    """A scheduled discount. The game row mirrors the one running now, or the next to come."""

    __tablename__ = "discounts"
    __table_args__ = (Index("ix_discounts_game_id_starts_at", "game_id", "starts_at"),)

    game_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("games.id", ondelete="CASCADE"), nullable=False
    )
    percent: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    start_announced: Mapped[bool] = mapped_column(nullable=False, default=False)
    end_announced: Mapped[bool] = mapped_column(nullable=False, default=False)
