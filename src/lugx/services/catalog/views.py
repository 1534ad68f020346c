"""Turning catalog rows into what the API shows: prices for the moment asked, review summaries,
platform names. Lists, shelves, search and the detail page all build their lines here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.money import Money
from lugx.services.catalog.models import PLATFORMS, Game, GamePrice, names_of
from lugx.services.catalog.pricing import Quote, SellableItem, quote
from lugx.services.catalog.schemas import GameSummary, ReviewSummary, Sellable


def review_summary(game: Game) -> ReviewSummary:
    return ReviewSummary(
        total=game.review_total,
        positive=game.review_positive,
        score=game.review_score,
        description=game.review_description,
        recent_score=game.recent_review_score,
        recent_description=game.recent_review_description,
    )


def summary(game: Game, price: Quote) -> GameSummary:
    return GameSummary(
        app_id=game.app_id,
        type=game.type,
        title=game.title,
        slug=game.slug,
        short_description=game.short_description,
        price=Money(amount=price.amount, currency=price.currency),
        final_price=Money(amount=price.final, currency=price.currency),
        discount_percent=price.discount_percent,
        discount_ends_at=price.discount_ends_at,
        is_free=game.base_price == 0,
        review_summary=review_summary(game),
        header_image=game.header_image,
        release_date=game.release_date,
        coming_soon=game.coming_soon,
        platforms=names_of(game.platforms_mask, PLATFORMS),
        publisher=game.publisher_name,
    )


async def regional_prices(
    session: AsyncSession, game_ids: Sequence[uuid.UUID], currency: str
) -> dict[uuid.UUID, int]:
    if currency == "USD" or not game_ids:
        return {}
    rows = await session.execute(
        select(GamePrice.game_id, GamePrice.amount).where(
            GamePrice.game_id.in_(game_ids), GamePrice.currency == currency
        )
    )
    return {game_id: amount for game_id, amount in rows.all()}  # noqa: C416


async def summaries(
    session: AsyncSession, games: Sequence[Game], now: datetime, currency: str = "USD"
) -> list[GameSummary]:
    """Lines for a page of games, priced in `currency` where the publisher set one."""
    regional = await regional_prices(session, [g.id for g in games], currency)
    lines = []
    for game in games:
        prices = {currency: regional[game.id]} if game.id in regional else None
        lines.append(summary(game, quote(game, now, currency=currency, regional=prices)))
    return lines


def sellable(game: SellableItem, price: Quote, bundle_items: list[int]) -> Sellable:
    """What selling the item needs (shopping, purchases): `price` in USD, as `GET /prices`
    answers by default."""
    return Sellable(
        app_id=game.app_id,
        type=game.type,
        status=game.status,
        title=game.title,
        header_image=game.header_image,
        price=Money(amount=price.amount, currency=price.currency),
        final_price=Money(amount=price.final, currency=price.currency),
        discount_percent=price.discount_percent,
        bundle_items=bundle_items,
        bundle_discount_percent=game.bundle_discount_percent,
    )
