"""Small typed helpers for the search tests: games written straight into the catalog's database
(published, then indexed with search.reindex_game), so the tests do not depend on the publishing
endpoints, and a helper that reads a search through the gateway."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select

from lugx.platform.bootstrap import Platform
from lugx.platform.db import Database
from lugx.services.catalog.models import (
    FEATURES,
    PLATFORMS,
    Game,
    GameGenre,
    GamePrice,
    GameTag,
    Genre,
    Publisher,
    Tag,
    mask_of,
)
from lugx.services.catalog.search import clear_index, rebuild_index, reindex_game, variants_table
from tests.conftest import database_of

SEARCH = "/api/v1/catalog/games"
SUGGEST = "/api/v1/catalog/suggest"

_app_ids = itertools.count(9_000_010, 10)


def catalog_db(platform: Platform) -> Database:
    return database_of(platform, "catalog")


@dataclass
class Sale:
    percent: int
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def running(cls, percent: int) -> Sale:
        now = datetime.now(UTC)
        return cls(percent, now - timedelta(days=1), now + timedelta(days=1))

    @classmethod
    def upcoming(cls, percent: int) -> Sale:
        now = datetime.now(UTC)
        return cls(percent, now + timedelta(days=1), now + timedelta(days=2))


@dataclass
class GameSpec:
    """What a test says about a game; everything else gets a plain default."""

    title: str
    genres: Sequence[str] = ("action",)
    tags: Sequence[str] = ()
    platforms: Sequence[str] = ("windows",)
    features: Sequence[str] = ("single_player",)
    type: str = "game"
    price: int = 1999
    sale: Sale | None = None
    popularity: int = 0
    review_score: int | None = None
    review_total: int = 0
    release_date: date | None = date(2020, 1, 1)
    developers: Sequence[str] = ("Test Developer",)
    publisher: str = "Test Publisher"
    status: str = "published"
    regional_prices: dict[str, int] = field(default_factory=dict)
    app_id: int | None = None


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "game"


async def _row_id(db: Database, model: type[Genre] | type[Tag], slug: str) -> int:
    async with db.session() as session:
        found = (await session.execute(select(model.id).where(model.slug == slug))).scalar()
        if found is not None:
            return int(found)
        row = model(slug=slug, name=slug.replace("-", " ").title())
        session.add(row)
        await session.flush()
        return int(row.id)


async def _publisher_id(db: Database, name: str) -> uuid.UUID:
    slug = slugify(name)
    async with db.session() as session:
        found = (await session.execute(select(Publisher.id).where(Publisher.slug == slug))).scalar()
        if found is not None:
            return found
        publisher = Publisher(name=name, slug=slug)
        session.add(publisher)
        await session.flush()
        return publisher.id


async def add_game(db: Database, spec: GameSpec, *, index: bool = True) -> Game:
    """Write one game (and its genres, tags, prices) and, unless told not to, index it."""
    genre_ids = [await _row_id(db, Genre, slug) for slug in spec.genres]
    tag_ids = [await _row_id(db, Tag, slug) for slug in spec.tags]
    publisher_id = await _publisher_id(db, spec.publisher)
    app_id = spec.app_id or next(_app_ids)
    async with db.session() as session:
        game = Game(
            app_id=app_id,
            type=spec.type,
            status=spec.status,
            title=spec.title,
            slug=f"{slugify(spec.title)}-{app_id}",
            short_description=f"About {spec.title}.",
            developers=list(spec.developers),
            publisher_id=publisher_id,
            publisher_name=spec.publisher,
            release_date=spec.release_date,
            platforms_mask=mask_of(tuple(spec.platforms), PLATFORMS),
            features_mask=mask_of(tuple(spec.features), FEATURES),
            base_price=spec.price,
            discount_percent=spec.sale.percent if spec.sale else None,
            discount_starts_at=spec.sale.starts_at if spec.sale else None,
            discount_ends_at=spec.sale.ends_at if spec.sale else None,
            popularity=spec.popularity,
            review_score=spec.review_score,
            review_total=spec.review_total,
            review_positive=(spec.review_total * (spec.review_score or 0)) // 100,
            published_at=datetime.now(UTC) if spec.status == "published" else None,
        )
        session.add(game)
        await session.flush()
        session.add_all(GameGenre(game_id=game.id, genre_id=g) for g in genre_ids)
        session.add_all(
            GameTag(game_id=game.id, tag_id=t, votes=100 - i) for i, t in enumerate(tag_ids)
        )
        session.add_all(
            GamePrice(game_id=game.id, currency=c, amount=a)
            for c, a in spec.regional_prices.items()
        )
        if index:
            await reindex_game(session, game.id)
    return game


async def add_games(db: Database, *specs: GameSpec) -> list[Game]:
    return [await add_game(db, spec) for spec in specs]


async def update_game(db: Database, app_id: int, **changes: Any) -> None:
    """Change a game's row the way the service would, then reindex it."""
    async with db.session() as session:
        game = (await session.execute(select(Game).where(Game.app_id == app_id))).scalar_one()
        for name, value in changes.items():
            setattr(game, name, value)
        await reindex_game(session, game.id)


async def delete_game(db: Database, app_id: int) -> None:
    async with db.session() as session:
        game = (await session.execute(select(Game).where(Game.app_id == app_id))).scalar_one()
        for link in (GameGenre, GameTag, GamePrice):
            await session.execute(delete(link).where(link.game_id == game.id))
        await session.delete(game)


async def rebuild(db: Database) -> None:
    async with db.session() as session:
        await rebuild_index(session)


async def clear(db: Database) -> None:
    async with db.session() as session:
        await clear_index(session)


async def forget_typo_table(db: Database) -> None:
    """The typo table is not one of the models (the suite's cleanup does not empty it): start a
    test without words indexed by earlier ones."""
    async with db.session() as session:
        await session.execute(delete(variants_table))


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["title"] for item in (await search(client, **params))["items"]]


async def every_page(client: httpx.AsyncClient, **params: Any) -> list[list[str]]:
    """Follow next_cursor to the end; the titles of each page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await search(client, **params, **({"cursor": cursor} if cursor else {}))
        pages.append([item["title"] for item in page["items"]])
        cursor = page.get("next_cursor")
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"


async def suggestions(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    response = await client.get(SUGGEST, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def problem(
    client: httpx.AsyncClient, url: str, params: Any = None
) -> tuple[int, dict[str, Any]]:
    response = await client.get(url, params=params)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    return response.status_code, body
