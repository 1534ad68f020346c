"""The full listing of one game, as the game page shows it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.money import Money
from lugx.services.catalog import repository as repo
from lugx.services.catalog.models import FEATURES, Game, names_of
from lugx.services.catalog.pricing import quote
from lugx.services.catalog.schemas import (
    DlcRef,
    GameDetail,
    GenreRead,
    SystemRequirements,
    TagCount,
)
from lugx.services.catalog.views import summary


async def game_detail(
    session: AsyncSession, game: Game, now: datetime, *, currency: str = "USD"
) -> GameDetail:
    regional = await repo.regional_prices_of(session, game.id)
    line = summary(game, quote(game, now, currency=currency, regional=regional))
    publisher = await repo.publisher_by_id(session, game.publisher_id)
    base = await session.get(Game, game.base_game_id) if game.base_game_id else None
    dlc = await repo.dlc_of(session, game.id)
    items = await repo.bundle_items_of(session, game.id) if game.type == "bundle" else []
    bundles = await repo.bundles_containing(session, game.id)
    return GameDetail(
        **line.model_dump(),
        id=game.id,
        status=game.status,
        long_description=game.long_description,
        developers=list(game.developers),
        publisher_slug=publisher.slug if publisher else "",
        early_access=game.early_access,
        age_rating=game.age_rating,
        features=names_of(game.features_mask, FEATURES),
        supported_languages=list(game.supported_languages),
        screenshots=list(game.screenshots),
        trailers=list(game.trailers),
        system_requirements=SystemRequirements.model_validate(game.system_requirements or {}),
        genres=[
            GenreRead(slug=g.slug, name=g.name) for g in await repo.genres_of(session, game.id)
        ],
        tags=[
            TagCount(slug=tag.slug, name=tag.name, votes=votes)
            for tag, votes in await repo.top_tags(session, game.id)
        ],
        base_game=base.app_id if base else None,
        dlc=[
            DlcRef(
                app_id=d.app_id,
                title=d.title,
                final_price=Money(amount=quote(d, now).final, currency="USD"),
            )
            for d in dlc
        ],
        bundle_items=[i.app_id for i in items],
        bundles=[b.app_id for b in bundles],
        bundle_discount_percent=game.bundle_discount_percent,
        regional_prices=regional,
        published_at=game.published_at,
        updated_at=game.updated_at,
    )
