"""The rules of the catalog: who may publish what, how a listing changes, what a player sees.
Functions take the request's session and flush; they never commit."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.cache import Cache
from lugx.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from lugx.platform.events import Event, EventBus
from lugx.platform.money import SUPPORTED_CURRENCIES
from lugx.services.catalog import repository as repo
from lugx.services.catalog import search
from lugx.services.catalog.models import (
    FEATURES,
    PLATFORMS,
    Discount,
    Game,
    Publisher,
    PublisherMember,
    mask_of,
)
from lugx.services.catalog.pricing import discounted, quote
from lugx.services.catalog.schemas import (
    DiscountCreate,
    GameCreate,
    GameUpdate,
    PublisherCreate,
)
from lugx.services.catalog.sellable_cache import sellable_key
from lugx.services.catalog.taxonomy import GENRES

GENERATION_KEY = "catalog:generation"


# Which of these app_ids the viewer owns (for "complete the set" bundle prices).
OwnershipLookup = Callable[[Principal | None, list[int]], Awaitable[set[int]]]


async def nothing_owned(_viewer: Principal | None, _app_ids: list[int]) -> set[int]:
    """A build without the purchases service: nobody owns anything."""
    return set()


@dataclass
class Catalog:
    """What the rules need beyond the session; built once per service (app.py)."""

    events: EventBus
    cache: Cache
    owned_app_ids: OwnershipLookup = nothing_owned


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:200] or "game"


def game_cache_keys(app_id: int) -> list[str]:
    pages = [f"catalog:game:{app_id}:{currency}" for currency in sorted(SUPPORTED_CURRENCIES)]
    return [*pages, sellable_key(app_id)]


async def forget(catalog: Catalog, *app_ids: int) -> None:
    """Drop cached pages of these games and every shelf, and move the generation on, which no
    entry stored before it is read under again (after the change is committed)."""
    keys = [key for app_id in app_ids for key in game_cache_keys(app_id)]
    await catalog.cache.delete(*keys)
    await catalog.cache.incr(GENERATION_KEY, 86_400 * 365)


# --- publishers -----------------------------------------------------------------------------


def _require_publisher_role(principal: Principal) -> None:
    if not principal.has_role("publisher", "admin"):
        raise Forbidden("Publishing needs the publisher role")


async def create_publisher(
    session: AsyncSession, principal: Principal, body: PublisherCreate
) -> Publisher:
    _require_publisher_role(principal)
    slug = body.slug or slugify(body.name)
    if await repo.publisher_by_slug(session, slug):
        raise Conflict("A publisher with that name exists", code="publisher-taken")
    publisher = Publisher(name=body.name, slug=slug, created_by=principal.user_id)
    session.add(publisher)
    await session.flush()
    session.add(PublisherMember(publisher_id=publisher.id, user_id=principal.user_id, role="owner"))
    await session.flush()
    return publisher


async def _publisher_for(
    session: AsyncSession, principal: Principal, slug: str | None
) -> Publisher:
    if slug is not None:
        publisher = await repo.publisher_by_slug(session, slug)
        if publisher is None:
            raise NotFound(f"No publisher {slug!r}")
        if not principal.is_admin and not await repo.is_member(
            session, publisher.id, principal.user_id
        ):
            raise Forbidden("You are not a member of that publisher")
        return publisher
    mine = await repo.publishers_of(session, principal.user_id)
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise Conflict(
            "Create your publisher organisation first (POST /api/v1/catalog/publishers)",
            code="no-publisher",
        )
    raise ValidationFailed(
        "You belong to several publishers: say which one",
        errors=[{"field": "publisher", "message": "required when you have several"}],
    )


async def can_manage(session: AsyncSession, principal: Principal | None, game: Game) -> bool:
    if principal is None:
        return False
    if principal.is_admin:
        return True
    return principal.has_role("publisher") and await repo.is_member(
        session, game.publisher_id, principal.user_id
    )


async def managed_game(session: AsyncSession, principal: Principal, app_id: int) -> Game:
    """A game the caller may change. Another publisher's game is refused, not hidden: it is
    public anyway once published."""
    _require_publisher_role(principal)
    game = await repo.game_by_app_id(session, app_id)
    if game is None:
        raise NotFound("No such game")
    if not await can_manage(session, principal, game):
        raise Forbidden("Only the game's publisher can change it")
    return game


# --- games ----------------------------------------------------------------------------------


def _check_genres(slugs: list[str]) -> None:
    unknown = [s for s in slugs if s not in GENRES]
    if unknown:
        raise ValidationFailed(
            f"Unknown genre {unknown[0]!r}",
            errors=[{"field": "genres", "message": f"unknown genre {unknown[0]!r}"}],
        )


async def _unique_slug(session: AsyncSession, title: str, app_id: int) -> str:
    slug = slugify(title)
    return f"{slug}-{app_id}" if await repo.slug_taken(session, slug) else slug


async def _related(
    session: AsyncSession, principal: Principal, app_ids: list[int], *, purpose: str
) -> list[Game]:
    games = await repo.games_by_app_ids(session, app_ids)
    found = {g.app_id for g in games}
    missing = [a for a in app_ids if a not in found]
    if missing:
        raise ValidationFailed(
            f"No game with app_id {missing[0]}",
            errors=[{"field": purpose, "message": f"unknown app_id {missing[0]}"}],
        )
    for game in games:
        if game.type == "bundle" and purpose == "bundle_items":
            raise ValidationFailed(
                "A bundle cannot contain a bundle",
                errors=[{"field": purpose, "message": "nested bundle"}],
            )
        if not await can_manage(session, principal, game):
            raise Forbidden(f"app_id {game.app_id} belongs to another publisher")
    by_app = {g.app_id: g for g in games}
    return [by_app[a] for a in dict.fromkeys(app_ids)]


async def create_game(
    session: AsyncSession, catalog: Catalog, principal: Principal, body: GameCreate
) -> Game:
    _require_publisher_role(principal)
    _check_genres(body.genres)
    publisher = await _publisher_for(session, principal, body.publisher)
    base_game = None
    if body.base_game is not None:
        [base_game] = await _related(session, principal, [body.base_game], purpose="base_game")
    items = await _related(session, principal, body.bundle_items, purpose="bundle_items")
    app_id = await repo.next_app_id(session)
    game = Game(
        app_id=app_id,
        type=body.type,
        status="draft",
        title=body.title,
        slug=await _unique_slug(session, body.title, app_id),
        short_description=body.short_description,
        long_description=body.long_description,
        developers=list(body.developers) or [publisher.name],
        publisher_id=publisher.id,
        publisher_name=publisher.name,
        release_date=body.release_date,
        coming_soon=body.coming_soon,
        early_access=body.early_access,
        age_rating=body.age_rating,
        platforms_mask=mask_of(body.platforms, PLATFORMS),
        features_mask=mask_of(body.features, FEATURES),
        supported_languages=list(body.supported_languages),
        header_image=str(body.header_image) if body.header_image else None,
        screenshots=[str(u) for u in body.screenshots],
        trailers=[str(u) for u in body.trailers],
        system_requirements=body.system_requirements.model_dump(),
        base_game_id=base_game.id if base_game else None,
        base_price=body.price.amount,
        bundle_discount_percent=body.bundle_discount_percent,
    )
    session.add(game)
    await session.flush()
    if game.header_image is None:
        game.header_image = f"/api/v1/catalog/media/{app_id}/header.svg"
    await repo.set_genres(session, game.id, body.genres)
    await repo.set_tags(session, game.id, body.tags)
    await repo.set_regional_prices(session, game.id, dict(body.regional_prices))
    await repo.set_bundle_items(session, game.id, items)
    await session.flush()
    return game


_LIST_FIELDS = ("developers", "supported_languages")
_URL_LISTS = ("screenshots", "trailers")


async def update_game(
    session: AsyncSession,
    catalog: Catalog,
    principal: Principal,
    app_id: int,
    body: GameUpdate,
    now: datetime,
) -> Game:
    game = await managed_game(session, principal, app_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    status = changes.pop("status", None)
    old_price = game.base_price
    for name in ("title", "platforms", "features", "price", "status"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(
                f"{name} cannot be null", errors=[{"field": name, "message": "cannot be null"}]
            )
    if "genres" in changes:
        _check_genres(changes["genres"] or [])
        await repo.set_genres(session, game.id, changes.pop("genres") or [])
    if "tags" in changes:
        await repo.set_tags(session, game.id, changes.pop("tags") or [])
    if "regional_prices" in changes:
        await repo.set_regional_prices(session, game.id, changes.pop("regional_prices") or {})
    if "bundle_items" in changes:
        items = changes.pop("bundle_items") or []
        if game.type != "bundle":
            raise ValidationFailed(
                "Only a bundle has items",
                errors=[{"field": "bundle_items", "message": "not a bundle"}],
            )
        if len(set(items)) < 2:
            raise ValidationFailed(
                "A bundle holds at least two different items",
                errors=[{"field": "bundle_items", "message": "too few"}],
            )
        await repo.set_bundle_items(
            session, game.id, await _related(session, principal, items, purpose="bundle_items")
        )
    if "price" in changes:
        game.base_price = changes.pop("price")["amount"]
    if "platforms" in changes:
        game.platforms_mask = mask_of(changes.pop("platforms"), PLATFORMS)
    if "features" in changes:
        game.features_mask = mask_of(changes.pop("features") or [], FEATURES)
    if "system_requirements" in changes:
        game.system_requirements = changes.pop("system_requirements") or {}
    for name in _URL_LISTS:
        if name in changes:
            setattr(game, name, [str(u) for u in changes.pop(name) or []])
    if "header_image" in changes:
        value = changes.pop("header_image")
        game.header_image = (
            str(value) if value else f"/api/v1/catalog/media/{game.app_id}/header.svg"
        )
    for name, value in changes.items():
        setattr(game, name, list(value) if name in _LIST_FIELDS else value)
    await session.flush()

    changed = sorted(body.model_dump(exclude_unset=True))
    if status == "published" and game.status != "published":
        await _publish(session, catalog, game, now)
    elif status == "unpublished" and game.status == "published":
        game.status = "unpublished"
        await publish_game_event(session, catalog, game, "GameUnpublished", {})
    if game.status == "published" and changed:
        await publish_game_event(session, catalog, game, "GameUpdated", {"changed": changed})
    if game.base_price != old_price:
        price = quote(game, now)
        await publish_game_event(
            session,
            catalog,
            game,
            "GamePriceChanged",
            {
                "currency": "USD",
                "old_price": old_price,
                "new_price": game.base_price,
                "final_price": price.final,
            },
        )
    await search.reindex_game(session, game.id)
    return game


async def related_app_ids(session: AsyncSession, game: Game) -> list[int]:
    """Other games whose pages show this one: a DLC's base game, the bundles holding it."""
    related = [bundle.app_id for bundle in await repo.bundles_containing(session, game.id)]
    if game.base_game_id is not None:
        base = await session.get(Game, game.base_game_id)
        if base is not None:
            related.append(base.app_id)
    return sorted(set(related))


async def publish_game_event(
    session: AsyncSession, catalog: Catalog, game: Game, event_type: str, payload: dict[str, Any]
) -> None:
    """A catalog event about one game, keyed by its app_id, naming the games that show it (so
    caches of their pages are dropped too)."""
    body = {"app_id": game.app_id, "game_id": str(game.id), **payload}
    related = await related_app_ids(session, game)
    if related:
        body["related_app_ids"] = related
    await catalog.events.publish(session, event_type, key=str(game.app_id), payload=body)


async def _publish(session: AsyncSession, catalog: Catalog, game: Game, now: datetime) -> None:
    problems = []
    if not game.short_description:
        problems.append({"field": "short_description", "message": "needed to publish"})
    if game.type == "bundle" and len(await repo.bundle_items_of(session, game.id)) < 2:
        problems.append({"field": "bundle_items", "message": "a bundle needs two items"})
    if problems:
        raise ValidationFailed("The listing is not ready to publish", errors=problems)
    game.status = "published"
    game.published_at = game.published_at or now
    await session.flush()
    await publish_game_event(
        session,
        catalog,
        game,
        "GamePublished",
        {
            "type": game.type,
            "title": game.title,
            "publisher_id": str(game.publisher_id),
            "base_price": game.base_price,
            "currency": "USD",
        },
    )


# --- discounts ------------------------------------------------------------------------------


async def add_discount(
    session: AsyncSession,
    catalog: Catalog,
    principal: Principal,
    app_id: int,
    body: DiscountCreate,
    now: datetime,
) -> Discount:
    game = await managed_game(session, principal, app_id)
    if body.ends_at <= now:
        raise ValidationFailed(
            "The discount would already be over",
            errors=[{"field": "ends_at", "message": "in the past"}],
        )
    if game.base_price == 0:
        raise Conflict("A free game cannot be discounted", code="free-game")
    if await repo.overlapping_discount(session, game.id, body.starts_at, body.ends_at):
        raise Conflict("Another discount already runs in that window", code="discount-overlap")
    discount = Discount(
        game_id=game.id,
        percent=body.percent,
        starts_at=max(body.starts_at, now) if body.starts_at < now else body.starts_at,
        ends_at=body.ends_at,
        created_by=principal.user_id,
    )
    session.add(discount)
    await session.flush()
    await mirror_discount(session, game, now)
    await publish_game_event(
        session,
        catalog,
        game,
        "GameDiscountScheduled",
        _discount_payload(game, discount, "scheduled"),
    )
    await announce_discounts(session, catalog, now)
    return discount


async def mirror_discount(session: AsyncSession, game: Game, now: datetime) -> None:
    """Copy the running (or next) discount onto the game row, for prices computed in SQL."""
    current = await repo.current_or_next_discount(session, game.id, now)
    game.discount_percent = current.percent if current else None
    game.discount_starts_at = current.starts_at if current else None
    game.discount_ends_at = current.ends_at if current else None
    await session.flush()


def _discount_payload(game: Game, discount: Discount, phase: str) -> dict[str, Any]:
    return {
        "app_id": game.app_id,
        "game_id": str(game.id),
        "phase": phase,
        "percent": discount.percent,
        "starts_at": discount.starts_at.isoformat(),
        "ends_at": discount.ends_at.isoformat(),
        "currency": "USD",
        "base_price": game.base_price,
        "final_price": discounted(game.base_price, discount.percent)
        if phase != "ended"
        else game.base_price,
    }


async def announce_discounts(session: AsyncSession, catalog: Catalog, now: datetime) -> list[int]:
    """Publish `GameDiscounted` for every discount that started or ended since last time, and
    roll each game's mirrored discount forward. Returns the app_ids whose price changed."""
    changed: list[int] = []
    for discount in await repo.discounts_to_announce(session, now):
        game = await session.get(Game, discount.game_id)
        if game is None:
            continue
        if discount.starts_at <= now and not discount.start_announced:
            discount.start_announced = True
            if discount.ends_at > now:
                await publish_game_event(
                    session,
                    catalog,
                    game,
                    "GameDiscounted",
                    _discount_payload(game, discount, "started"),
                )
        if discount.ends_at <= now and not discount.end_announced:
            discount.end_announced = True
            await publish_game_event(
                session, catalog, game, "GameDiscounted", _discount_payload(game, discount, "ended")
            )
        await mirror_discount(session, game, now)
        changed.append(game.app_id)
    return changed


# --- reading --------------------------------------------------------------------------------


async def visible_game(session: AsyncSession, app_id: int, viewer: Principal | None) -> Game:
    game = await repo.game_by_app_id(session, app_id)
    if game is None or (game.status != "published" and not await can_manage(session, viewer, game)):
        raise NotFound("No such game")
    return game


# --- events consumed ------------------------------------------------------------------------


async def on_review_summary_changed(
    session: AsyncSession, catalog: Catalog, event: Event
) -> int | None:
    """Keep each game's review score (for sorting and display) as the reviews service reports.
    Returns the app_id changed, if any. The edge cache drops the game's pages on the reviews
    event itself, possibly before this runs; the `GameUpdated` published here, after the change,
    drops any page re-cached in between."""
    payload = event.payload
    # Locked: two deliveries at once (a redelivery, two catalog processes) must not both read
    # the old revision and the older summary overwrite the newer one after it committed.
    game = await repo.game_by_app_id(session, int(payload["app_id"]), locked=True)
    if game is None:
        return None
    revision = int(payload.get("revision", 0))
    if revision and revision <= game.review_revision:
        return None  # as new as what is shown, or older: delivered late or twice
    game.review_revision = revision or game.review_revision
    game.review_total = int(payload.get("total", 0))
    game.review_positive = int(payload.get("positive", 0))
    game.review_score = payload.get("score")
    game.review_description = payload.get("description")
    game.recent_review_score = payload.get("recent_score")
    game.recent_review_description = payload.get("recent_description")
    await session.flush()
    if game.status == "published":
        await publish_game_event(
            session, catalog, game, "GameUpdated", {"changed": ["review_summary"]}
        )
    return game.app_id
