"""Every query of the catalog service, except search (search.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.services.catalog.models import (
    AppNumber,
    BundleItem,
    Discount,
    Game,
    GameGenre,
    GamePrice,
    GameTag,
    Genre,
    Publisher,
    PublisherMember,
    Tag,
)
from lugx.services.catalog.taxonomy import GENRES, tag_name


async def next_app_id(session: AsyncSession) -> int:
    number = AppNumber()
    session.add(number)
    await session.flush()
    # Steam's app ids step by ten; ours do too, so they read like the real thing.
    return number.id * 10


async def game_by_app_id(session: AsyncSession, app_id: int) -> Game | None:
    result = await session.execute(select(Game).where(Game.app_id == app_id))
    return result.scalar_one_or_none()


async def games_by_app_ids(session: AsyncSession, app_ids: Sequence[int]) -> list[Game]:
    if not app_ids:
        return []
    result = await session.execute(select(Game).where(Game.app_id.in_(app_ids)))
    return list(result.scalars())


async def games_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Game]:
    if not ids:
        return []
    result = await session.execute(select(Game).where(Game.id.in_(ids)))
    return list(result.scalars())


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.execute(select(Game.id).where(Game.slug == slug))).first() is not None


async def publisher_by_slug(session: AsyncSession, slug: str) -> Publisher | None:
    result = await session.execute(select(Publisher).where(Publisher.slug == slug))
    return result.scalar_one_or_none()


async def publisher_by_id(session: AsyncSession, publisher_id: uuid.UUID) -> Publisher | None:
    return await session.get(Publisher, publisher_id)


async def publishers_of(session: AsyncSession, user_id: uuid.UUID) -> list[Publisher]:
    result = await session.execute(
        select(Publisher)
        .join(PublisherMember, PublisherMember.publisher_id == Publisher.id)
        .where(PublisherMember.user_id == user_id)
        .order_by(Publisher.name)
    )
    return list(result.scalars())


async def is_member(session: AsyncSession, publisher_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(PublisherMember.user_id).where(
            PublisherMember.publisher_id == publisher_id, PublisherMember.user_id == user_id
        )
    )
    return found.first() is not None


async def genres_for(session: AsyncSession, slugs: Sequence[str]) -> list[Genre]:
    """The genres named, created on first use from the store's list (callers validate slugs)."""
    existing = {
        g.slug: g
        for g in (await session.execute(select(Genre).where(Genre.slug.in_(slugs)))).scalars()
    }
    for slug in slugs:
        if slug not in existing:
            genre = Genre(slug=slug, name=GENRES[slug])
            session.add(genre)
            existing[slug] = genre
    await session.flush()
    return [existing[s] for s in dict.fromkeys(slugs)]


async def tags_for(session: AsyncSession, slugs: Sequence[str]) -> list[Tag]:
    existing = {
        t.slug: t for t in (await session.execute(select(Tag).where(Tag.slug.in_(slugs)))).scalars()
    }
    for slug in slugs:
        if slug not in existing:
            tag = Tag(slug=slug, name=tag_name(slug))
            session.add(tag)
            existing[slug] = tag
    await session.flush()
    return [existing[s] for s in dict.fromkeys(slugs)]


async def set_genres(session: AsyncSession, game_id: uuid.UUID, slugs: Sequence[str]) -> None:
    await session.execute(delete(GameGenre).where(GameGenre.game_id == game_id))
    for genre in await genres_for(session, slugs):
        session.add(GameGenre(game_id=game_id, genre_id=genre.id))


async def set_tags(session: AsyncSession, game_id: uuid.UUID, slugs: Sequence[str]) -> None:
    """The publisher's own tags; votes already cast on kept tags are kept."""
    votes = dict(
        (
            await session.execute(
                select(GameTag.tag_id, GameTag.votes).where(GameTag.game_id == game_id)
            )
        ).all()
    )
    await session.execute(delete(GameTag).where(GameTag.game_id == game_id))
    for tag in await tags_for(session, slugs):
        session.add(GameTag(game_id=game_id, tag_id=tag.id, votes=votes.get(tag.id, 1)))


async def set_regional_prices(
    session: AsyncSession, game_id: uuid.UUID, prices: dict[str, int]
) -> None:
    await session.execute(delete(GamePrice).where(GamePrice.game_id == game_id))
    for currency, amount in prices.items():
        session.add(GamePrice(game_id=game_id, currency=currency, amount=amount))


async def set_bundle_items(
    session: AsyncSession, bundle_id: uuid.UUID, items: Sequence[Game]
) -> None:
    await session.execute(delete(BundleItem).where(BundleItem.bundle_id == bundle_id))
    for position, item in enumerate(items):
        session.add(BundleItem(bundle_id=bundle_id, item_id=item.id, position=position))


async def genres_of(session: AsyncSession, game_id: uuid.UUID) -> list[Genre]:
    result = await session.execute(
        select(Genre)
        .join(GameGenre, GameGenre.genre_id == Genre.id)
        .where(GameGenre.game_id == game_id)
        .order_by(Genre.name)
    )
    return list(result.scalars())


async def top_tags(
    session: AsyncSession, game_id: uuid.UUID, limit: int = 20
) -> list[tuple[Tag, int]]:
    result = await session.execute(
        select(Tag, GameTag.votes)
        .join(GameTag, GameTag.tag_id == Tag.id)
        .where(GameTag.game_id == game_id)
        .order_by(GameTag.votes.desc(), Tag.slug)
        .limit(limit)
    )
    return [(tag, votes) for tag, votes in result.all()]


async def regional_prices_of(session: AsyncSession, game_id: uuid.UUID) -> dict[str, int]:
    result = await session.execute(
        select(GamePrice.currency, GamePrice.amount).where(GamePrice.game_id == game_id)
    )
    return dict(result.all())


async def dlc_of(session: AsyncSession, game_id: uuid.UUID) -> list[Game]:
    result = await session.execute(
        select(Game)
        .where(Game.base_game_id == game_id, Game.status == "published")
        .order_by(Game.app_id)
    )
    return list(result.scalars())


async def bundle_items_of(session: AsyncSession, bundle_id: uuid.UUID) -> list[Game]:
    result = await session.execute(
        select(Game)
        .join(BundleItem, BundleItem.item_id == Game.id)
        .where(BundleItem.bundle_id == bundle_id)
        .order_by(BundleItem.position)
    )
    return list(result.scalars())


async def bundles_containing(session: AsyncSession, item_id: uuid.UUID) -> list[Game]:
    result = await session.execute(
        select(Game)
        .join(BundleItem, BundleItem.bundle_id == Game.id)
        .where(BundleItem.item_id == item_id, Game.status == "published")
        .order_by(Game.app_id)
    )
    return list(result.scalars())


async def discounts_of(session: AsyncSession, game_id: uuid.UUID) -> list[Discount]:
    result = await session.execute(
        select(Discount).where(Discount.game_id == game_id).order_by(Discount.starts_at)
    )
    return list(result.scalars())


async def overlapping_discount(
    session: AsyncSession, game_id: uuid.UUID, starts_at: datetime, ends_at: datetime
) -> Discount | None:
    result = await session.execute(
        select(Discount)
        .where(
            Discount.game_id == game_id,
            Discount.cancelled_at.is_(None),
            Discount.starts_at < ends_at,
            Discount.ends_at > starts_at,
        )
        .limit(1)
    )
    return result.scalar_one_or_none()


async def current_or_next_discount(
    session: AsyncSession, game_id: uuid.UUID, now: datetime
) -> Discount | None:
    result = await session.execute(
        select(Discount)
        .where(
            Discount.game_id == game_id,
            Discount.cancelled_at.is_(None),
            Discount.ends_at > now,
        )
        .order_by(Discount.starts_at)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def discounts_to_announce(
    session: AsyncSession, now: datetime, limit: int = 500
) -> list[Discount]:
    """Discounts that have started or ended since they were last announced."""
    result = await session.execute(
        select(Discount)
        .where(
            Discount.cancelled_at.is_(None),
            ((Discount.starts_at <= now) & ~Discount.start_announced)
            | ((Discount.ends_at <= now) & ~Discount.end_announced),
        )
        .order_by(Discount.starts_at)
        .limit(limit)
    )
    return list(result.scalars())


async def count_published(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count()).select_from(Game).where(Game.status == "published")
    )
    return int(result.scalar_one())
