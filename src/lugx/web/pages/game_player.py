"""What a game page shows one player beyond the public listing: whether they own it or have it
in the cart, the "complete the set" price of its bundles for them, and their review. Public
parts (the reviews, their authors' names) are cached like the shelves."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from lugx.platform.errors import LugxError
from lugx.platform.money import Money
from lugx.services.catalog.schemas import GameDetail
from lugx.services.reviews.schemas import ReviewRead
from lugx.services.shopping.pricing import bundle_quote
from lugx.web.context import WebContext

REVIEWS_SHOWN = 10


@dataclass
class PlayerView:
    owned: bool = False
    in_cart: bool = False
    owned_items: set[int] = field(default_factory=set)
    # bundle app_id -> its price for this player (the items they miss, less the set's discount)
    set_prices: dict[int, Money] = field(default_factory=dict)
    my_review: ReviewRead | None = None


async def player_view(
    ctx: WebContext,
    user_id: uuid.UUID,
    token: str,
    game: GameDetail,
    related: dict[int, GameDetail],
) -> PlayerView:
    bundles = [b for b in [*game.bundles, game.app_id] if b in related or b == game.app_id]
    bundle_games = {b: (game if b == game.app_id else related[b]) for b in bundles}
    bundle_games = {b: g for b, g in bundle_games.items() if g.type == "bundle"}
    items = {i for g in bundle_games.values() for i in g.bundle_items}
    asked = sorted({game.app_id, *(d.app_id for d in game.dlc), *items})
    owned, cart = await asyncio.gather(
        ctx.ownership.owned(user_id, asked[:500]), ctx.shopping.cart(token=token)
    )
    view = PlayerView(
        owned=game.app_id in owned,
        in_cart=any(line.app_id == game.app_id for line in cart.items),
        owned_items=set(owned),
    )
    if bundle_games:
        view.set_prices = await _set_prices(ctx, bundle_games, set(owned))
    if view.owned:
        view.my_review = await ctx.reviews.mine(game.app_id, token=token)
    return view


async def _set_prices(
    ctx: WebContext, bundles: dict[int, GameDetail], owned: set[int]
) -> dict[int, Money]:
    """Shopping's rule (`pricing.bundle_quote`) on the catalog's prices now: what the cart will
    charge this player for each bundle."""
    wanted = sorted({*bundles, *(i for g in bundles.values() for i in g.bundle_items)})
    prices = await ctx.catalog.prices(wanted[:100])
    found: dict[int, Money] = {}
    for app_id, bundle in bundles.items():
        own = prices.get(app_id)
        if own is None:
            continue
        finals = [
            prices[i].final_price.amount
            for i in bundle.bundle_items
            if i not in owned and i in prices
        ]
        quote = bundle_quote(finals, bundle.bundle_discount_percent, own.discount_percent)
        found[app_id] = Money(amount=quote.final, currency="USD")
    return found


async def reviews_of(ctx: WebContext, app_id: int) -> tuple[list[ReviewRead], dict[str, str]]:
    """The most helpful reviews (the reviews service sorts them) and their authors' names."""

    # Not cached here: the reviews service keeps its first pages until a vote moves them, and a
    # player who just voted must see the count they changed.
    try:
        found = await ctx.reviews.reviews(app_id, limit=REVIEWS_SHOWN)
    except LugxError as exc:
        if exc.status >= 500:
            return [], {}  # the game page goes on without its reviews
        raise
    names = await asyncio.gather(*(author_name(ctx, r.author_id) for r in found.items))
    return found.items, {str(r.author_id): n for r, n in zip(found.items, names, strict=True)}


async def author_name(ctx: WebContext, user_id: uuid.UUID) -> str:
    async def load() -> str:
        try:
            return (await ctx.users.profile(user_id)).display_name
        except LugxError:
            return "A player"

    return await ctx.public.get(f"author:{user_id}", load)
