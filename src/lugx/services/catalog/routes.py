"""HTTP endpoints of the catalog service (search and suggest are in search_routes.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, status
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from lugx.platform.auth import CurrentUser, OptionalUser, Principal, require_roles
from lugx.platform.db import DbSession, after_commit, utcnow
from lugx.platform.errors import NotFound
from lugx.platform.http_cache import cached_json
from lugx.platform.money import Money
from lugx.services.catalog import repository as repo
from lugx.services.catalog import service
from lugx.services.catalog.details import game_detail
from lugx.services.catalog.media import svg_image
from lugx.services.catalog.models import Discount, Game, GameGenre, Genre
from lugx.services.catalog.pricing import bundle_quote, next_price_change, on_sale_sql, quote
from lugx.services.catalog.schemas import (
    DiscountCreate,
    DiscountRead,
    GameCreate,
    GameDetail,
    GameSummary,
    GameUpdate,
    GenreRead,
    PriceRead,
    PublisherCreate,
    PublisherRead,
    Shelf,
    ShelfPage,
)
from lugx.services.catalog.service import Catalog
from lugx.services.catalog.taxonomy import GENRES
from lugx.services.catalog.views import summaries

PREFIX = "/api/v1/catalog"
DETAIL_SECONDS = 60
SHELF_SECONDS = 30
SHOWN_TYPES = ("game", "bundle")

router = APIRouter(prefix=PREFIX, tags=["catalog"])

AppId = Annotated[int, Path(ge=1, le=2_000_000_000)]
CurrencyQuery = Annotated[str, Query(pattern=r"^[A-Z]{3}$")]
ShelfLimit = Annotated[int, Query(ge=1, le=50)]


def catalog_of(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.ctx.extras["catalog"]
    return catalog


CatalogDep = Annotated[Catalog, Depends(catalog_of)]


def forget_after_commit(session: AsyncSession, catalog: Catalog, *app_ids: int) -> None:
    async def drop() -> None:
        await service.forget(catalog, *app_ids)

    after_commit(session, drop)


def seconds_true(game: Game, now: datetime, ceiling: int) -> int:
    change = next_price_change(game, now)
    if change is None:
        return ceiling
    return max(0, min(ceiling, int((change - now).total_seconds())))


# --- publishers -----------------------------------------------------------------------------


@router.post("/publishers", status_code=status.HTTP_201_CREATED, response_model=PublisherRead)
async def create_publisher(
    body: PublisherCreate, principal: CurrentUser, session: DbSession
) -> PublisherRead:
    publisher = await service.create_publisher(session, principal, body)
    return PublisherRead(id=publisher.id, name=publisher.name, slug=publisher.slug)


@router.get("/publishers/mine", response_model=list[PublisherRead])
async def my_publishers(principal: CurrentUser, session: DbSession) -> list[PublisherRead]:
    return [
        PublisherRead(id=p.id, name=p.name, slug=p.slug)
        for p in await repo.publishers_of(session, principal.user_id)
    ]


@router.get("/publishers/mine/games", response_model=list[GameSummary])
async def my_games(
    principal: Annotated[Principal, Depends(require_roles("publisher", "admin"))],
    session: DbSession,
) -> list[GameSummary]:
    """Every listing of the caller's publishers, drafts included (the publisher's dashboard)."""
    publishers = [p.id for p in await repo.publishers_of(session, principal.user_id)]
    result = await session.execute(
        select(Game)
        .where(Game.publisher_id.in_(publishers))
        .order_by(Game.app_id.desc())
        .limit(500)
    )
    return await summaries(session, list(result.scalars()), utcnow())


# --- games ----------------------------------------------------------------------------------


@router.post("/games", status_code=status.HTTP_201_CREATED, response_model=GameDetail)
async def create_game(
    body: GameCreate, principal: CurrentUser, session: DbSession, catalog: CatalogDep
) -> GameDetail:
    game = await service.create_game(session, catalog, principal, body)
    return await game_detail(session, game, utcnow())


@router.get("/games/{app_id}", response_model=GameDetail)
async def get_game(
    app_id: AppId,
    request: Request,
    viewer: OptionalUser,
    session: DbSession,
    catalog: CatalogDep,
    currency: CurrencyQuery = "USD",
) -> Response:
    """The full listing. Published games are public and cached (ETag, Cache-Control, 304) for as
    long as their price stays true; drafts are shown only to their publisher."""
    game = await service.visible_game(session, app_id, viewer)
    now = utcnow()
    if game.status != "published":
        detail = await game_detail(session, game, now, currency=currency)
        return Response(
            orjson.dumps(detail.model_dump(mode="json")),
            media_type="application/json",
            headers={"cache-control": "private, no-store"},
        )

    async def build() -> tuple[bytes, int]:
        detail = await game_detail(session, game, now, currency=currency)
        return orjson.dumps(detail.model_dump(mode="json")), seconds_true(game, now, DETAIL_SECONDS)

    return await cached_json(request, catalog.cache, f"catalog:game:{app_id}:{currency}", build)


@router.patch("/games/{app_id}", response_model=GameDetail)
async def update_game(
    app_id: AppId,
    body: GameUpdate,
    request: Request,
    principal: CurrentUser,
    session: DbSession,
    catalog: CatalogDep,
) -> GameDetail:
    now = utcnow()
    game = await service.update_game(session, catalog, principal, app_id, body, now)
    forget_after_commit(session, catalog, game.app_id)
    return await game_detail(session, game, now)


@router.post(
    "/games/{app_id}/discounts", status_code=status.HTTP_201_CREATED, response_model=DiscountRead
)
async def add_discount(
    app_id: AppId,
    body: DiscountCreate,
    request: Request,
    principal: CurrentUser,
    session: DbSession,
    catalog: CatalogDep,
) -> DiscountRead:
    discount = await service.add_discount(session, catalog, principal, app_id, body, utcnow())
    forget_after_commit(session, catalog, app_id)
    return _discount_read(discount, app_id)


@router.get("/games/{app_id}/discounts", response_model=list[DiscountRead])
async def list_discounts(
    app_id: AppId, principal: CurrentUser, session: DbSession
) -> list[DiscountRead]:
    game = await service.managed_game(session, principal, app_id)
    return [_discount_read(d, app_id) for d in await repo.discounts_of(session, game.id)]


def _discount_read(discount: Discount, app_id: int) -> DiscountRead:
    return DiscountRead(
        id=discount.id,
        app_id=app_id,
        percent=discount.percent,
        starts_at=discount.starts_at,
        ends_at=discount.ends_at,
        cancelled_at=discount.cancelled_at,
    )


@router.get("/games/{app_id}/price", response_model=PriceRead)
async def price(
    app_id: AppId,
    request: Request,
    viewer: OptionalUser,
    session: DbSession,
    catalog: CatalogDep,
    currency: CurrencyQuery = "USD",
) -> PriceRead:
    """The price for the caller now. For a bundle: 'complete the set', the items the caller does
    not own yet, less the bundle's discount."""
    game = await service.visible_game(session, app_id, viewer)
    now = utcnow()
    regional = await repo.regional_prices_of(session, game.id)
    if game.type != "bundle":
        q = quote(game, now, currency=currency, regional=regional)
    else:
        contents = await repo.bundle_items_of(session, game.id)
        owned = await catalog.owned_app_ids(viewer, [i.app_id for i in contents])
        items = [i for i in contents if i.app_id not in owned]
        item_quotes = [
            quote(i, now, currency=currency, regional=await repo.regional_prices_of(session, i.id))
            for i in items
        ]
        q = bundle_quote(game, item_quotes, now)
    return PriceRead(
        price=Money(amount=q.amount, currency=q.currency),
        final_price=Money(amount=q.final, currency=q.currency),
        discount_percent=q.discount_percent,
        discount_ends_at=q.discount_ends_at,
    )


@router.get("/prices", response_model=dict[str, PriceRead])
async def prices(
    session: DbSession,
    app_ids: Annotated[list[int], Query(min_length=1, max_length=100)],
    currency: CurrencyQuery = "USD",
) -> dict[str, PriceRead]:
    """Prices of several published items at once, now (what a cart asks for)."""
    now = utcnow()
    games = [g for g in await repo.games_by_app_ids(session, app_ids) if g.status == "published"]
    lines = await summaries(session, games, now, currency)
    return {
        str(line.app_id): PriceRead(
            price=line.price,
            final_price=line.final_price,
            discount_percent=line.discount_percent,
            discount_ends_at=line.discount_ends_at,
        )
        for line in lines
    }


# --- shelves --------------------------------------------------------------------------------


def _shown() -> Select[Game]:
    """What shelves show: published games and bundles."""
    return select(Game).where(Game.status == "published", Game.type.in_(SHOWN_TYPES))


def _shelf_query(shelf: str, now: datetime) -> Select[Game]:
    today = now.date()
    if shelf == "coming-soon":
        return (
            _shown()
            .where(Game.coming_soon | (Game.release_date > today))
            .order_by(Game.release_date, Game.app_id)
        )
    conditions = {
        "featured": Game.is_featured,
        "new-and-trending": (Game.release_date <= today)
        & (Game.release_date > today - timedelta(days=120)),
        "specials": on_sale_sql(now),
        "top-sellers": ~Game.coming_soon,
    }
    return _shown().where(conditions[shelf]).order_by(Game.popularity.desc(), Game.app_id)


async def _shelf_response(
    request: Request,
    session: AsyncSession,
    catalog: Catalog,
    key: str,
    name: str,
    load: Select[Game],
    currency: str,
) -> Response:
    generation, _ = await catalog.cache.counter(service.GENERATION_KEY)

    async def build() -> tuple[bytes, int]:
        now = utcnow()
        games = list((await session.execute(load)).scalars())
        lines = await summaries(session, games, now, currency)
        ttl = min([seconds_true(g, now, SHELF_SECONDS) for g in games] or [SHELF_SECONDS])
        page = ShelfPage(shelf=name, items=lines)
        return orjson.dumps(page.model_dump(mode="json")), ttl

    return await cached_json(request, catalog.cache, f"{key}:{currency}:g{generation}", build)


@router.get("/shelves/{shelf}", response_model=ShelfPage)
async def shelf(
    shelf: Shelf,
    request: Request,
    session: DbSession,
    catalog: CatalogDep,
    limit: ShelfLimit = 12,
    currency: CurrencyQuery = "USD",
) -> Response:
    query = _shelf_query(shelf, utcnow()).limit(limit)
    return await _shelf_response(
        request, session, catalog, f"catalog:shelf:{shelf}:{limit}", shelf, query, currency
    )


@router.get("/shelves/genres/{slug}", response_model=ShelfPage)
async def genre_shelf(
    slug: Annotated[str, Path(pattern=r"^[a-z0-9-]{1,60}$")],
    request: Request,
    session: DbSession,
    catalog: CatalogDep,
    limit: ShelfLimit = 12,
    currency: CurrencyQuery = "USD",
) -> Response:
    genre = (await session.execute(select(Genre).where(Genre.slug == slug))).scalar_one_or_none()
    if genre is None:
        raise NotFound(f"No genre {slug!r}")
    query = (
        _shown()
        .join(GameGenre, GameGenre.game_id == Game.id)
        .where(GameGenre.genre_id == genre.id, ~Game.coming_soon)
        .order_by(Game.popularity.desc(), Game.app_id)
        .limit(limit)
    )
    return await _shelf_response(
        request,
        session,
        catalog,
        f"catalog:shelf:genre:{slug}:{limit}",
        f"genre:{slug}",
        query,
        currency,
    )


@router.get("/genres", response_model=list[GenreRead])
async def genres() -> list[GenreRead]:
    return [GenreRead(slug=slug, name=name) for slug, name in GENRES.items()]


# --- media ----------------------------------------------------------------------------------


@router.get("/media/{app_id}/{name}", include_in_schema=False)
async def media(
    app_id: AppId,
    name: Annotated[str, Path(pattern=r"^(header|screenshot-[1-9])\.svg$")],
    session: DbSession,
) -> Response:
    """Artwork generated from the title, so demo and load catalogs need no image host."""
    game = await repo.game_by_app_id(session, app_id)
    title = game.title if game is not None else f"App {app_id}"
    variant = 0 if name == "header.svg" else int(name.split("-")[1].split(".")[0])
    return Response(
        svg_image(title, app_id, variant),
        media_type="image/svg+xml",
        headers={"cache-control": "public, max-age=86400"},
    )
