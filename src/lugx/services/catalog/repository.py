"""Every query of the catalog service, except search (search.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db.prepared import prepared
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
from lugx.services.catalog.pricing import SellableItem
from lugx.services.catalog.taxonomy import GENRES, tag_name

Found = TypeVar("Found")
Named = TypeVar("Named", Genre, Tag)

# Steam's app ids step by ten; ours do too, so they read like the real thing.
APP_ID_STEP = 10


async def _all(session: AsyncSession, query: Select[Found]) -> list[Found]:
    return list((await session.execute(query)).scalars())


async def next_app_id(session: AsyncSession) -> int:
    number = AppNumber()
    session.add(number)
    await session.flush()
    return number.id * APP_ID_STEP


async def game_by_app_id(
    session: AsyncSession, app_id: int, *, locked: bool = False
) -> Game | None:
    """`locked`: the row stays locked until the transaction ends (PostgreSQL; SQLite's one
    writer already serialises write transactions)."""
    query = select(Game).where(Game.app_id == app_id)
    result = await session.execute(query.with_for_update() if locked else query)
    return result.scalar_one_or_none()


async def games_by_app_ids(session: AsyncSession, app_ids: Sequence[int]) -> list[Game]:
    return await _all(session, select(Game).where(Game.app_id.in_(app_ids))) if app_ids else []


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.execute(select(Game.id).where(Game.slug == slug))).first() is not None


async def publisher_by_slug(session: AsyncSession, slug: str) -> Publisher | None:
    result = await session.execute(select(Publisher).where(Publisher.slug == slug))
    return result.scalar_one_or_none()


async def publisher_by_id(session: AsyncSession, publisher_id: uuid.UUID) -> Publisher | None:
    return await session.get(Publisher, publisher_id)


async def publishers_of(session: AsyncSession, user_id: uuid.UUID) -> list[Publisher]:
    return await _all(
        session,
        select(Publisher)
        .join(PublisherMember, PublisherMember.publisher_id == Publisher.id)
        .where(PublisherMember.user_id == user_id)
        .order_by(Publisher.name),
    )


async def is_member(session: AsyncSession, publisher_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(PublisherMember.user_id).where(
            PublisherMember.publisher_id == publisher_id, PublisherMember.user_id == user_id
        )
    )
    return found.first() is not None


async def _by_slugs(
    session: AsyncSession, model: type[Named], slugs: Sequence[str], name_of: Callable[[str], str]
) -> list[Named]:
    """The rows named, in the order given (once each), created on first use."""
    found = await session.execute(select(model).where(model.slug.in_(slugs)))
    existing = {row.slug: row for row in found.scalars()}
    for slug in slugs:
        if slug not in existing:
            row = model(slug=slug, name=name_of(slug))
            session.add(row)
            existing[slug] = row
    await session.flush()
    return [existing[s] for s in dict.fromkeys(slugs)]


async def genres_for(session: AsyncSession, slugs: Sequence[str]) -> list[Genre]:
    """The genres named, created on first use from the store's list (callers validate slugs)."""
    return await _by_slugs(session, Genre, slugs, GENRES.__getitem__)


async def tags_for(session: AsyncSession, slugs: Sequence[str]) -> list[Tag]:
    return await _by_slugs(session, Tag, slugs, tag_name)


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
    return await _all(
        session,
        select(Genre)
        .join(GameGenre, GameGenre.genre_id == Genre.id)
        .where(GameGenre.game_id == game_id)
        .order_by(Genre.name),
    )


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


def _published_games() -> Select[Game]:
    return select(Game).where(Game.status == "published").order_by(Game.app_id)


async def dlc_of(session: AsyncSession, game_id: uuid.UUID) -> list[Game]:
    return await _all(session, _published_games().where(Game.base_game_id == game_id))


async def bundle_items_of(session: AsyncSession, bundle_id: uuid.UUID) -> list[Game]:
    """Every item of a bundle (published or not), in the bundle's order."""
    return await _all(
        session,
        select(Game)
        .join(BundleItem, BundleItem.item_id == Game.id)
        .where(BundleItem.bundle_id == bundle_id)
        .order_by(BundleItem.position),
    )


async def bundles_containing(session: AsyncSession, item_id: uuid.UUID) -> list[Game]:
    return await _all(
        session,
        _published_games()
        .join(BundleItem, BundleItem.bundle_id == Game.id)
        .where(BundleItem.item_id == item_id),
    )


async def discounts_of(session: AsyncSession, game_id: uuid.UUID) -> list[Discount]:
    return await _all(
        session,
        select(Discount).where(Discount.game_id == game_id).order_by(Discount.starts_at),
    )


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
    """Discounts that have started or ended since they were last announced, locked until the
    transaction ends; those another catalog process has locked are passed over (it announces
    them), so a discount is not announced twice (PostgreSQL; SQLite has one writer)."""
    return await _all(
        session,
        select(Discount)
        .where(
            Discount.cancelled_at.is_(None),
            ((Discount.starts_at <= now) & ~Discount.start_announced)
            | ((Discount.ends_at <= now) & ~Discount.end_announced),
        )
        .order_by(Discount.starts_at)
        .limit(limit)
        .with_for_update(skip_locked=True),
    )


# --- what other services sell (internal_routes.sellables) -----------------------------------

# What selling a game reads of it (`pricing.SellableItem`): the rest of the row stays unread.
_SELLABLE = (
    Game.id,
    Game.app_id,
    Game.type,
    Game.status,
    Game.title,
    Game.header_image,
    Game.base_price,
    Game.discount_percent,
    Game.discount_starts_at,
    Game.discount_ends_at,
    Game.bundle_discount_percent,
)


async def sellable_games(session: AsyncSession, app_ids: Sequence[int]) -> list[SellableItem]:
    """These games (any status), as plain rows of what selling them needs."""
    if not app_ids:
        return []
    rows = await session.execute(_SELLABLE_GAMES, {"app_ids": list(app_ids)})
    return cast("list[SellableItem]", list(rows.all()))


async def bundle_contents(
    session: AsyncSession, bundle_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, SellableItem]]:
    """The items of these bundles (any status) with their bundle's id, each bundle's in its
    order; read as `sellable_games` reads them. One query for all the bundles."""
    if not bundle_ids:
        return []
    rows = await session.execute(_BUNDLE_CONTENTS, {"bundle_ids": list(bundle_ids)})
    return [(row.bundle_id, cast(SellableItem, row)) for row in rows]


# Built once and prepared: every cart request and checkout asks (operations.sellables).
_SELLABLE_GAMES = prepared(
    select(*_SELLABLE).where(Game.app_id.in_(bindparam("app_ids", expanding=True)))
)
_BUNDLE_CONTENTS = prepared(
    select(BundleItem.bundle_id, *_SELLABLE)
    .join(Game, Game.id == BundleItem.item_id)
    .where(BundleItem.bundle_id.in_(bindparam("bundle_ids", expanding=True)))
    .order_by(BundleItem.bundle_id, BundleItem.position)
)
