"""Prices as a player sees them, computed on the server for the moment asked.

A discount runs from `starts_at` (inclusive) to `ends_at` (exclusive). Discounted amounts round
half up to the minor unit. The same rule exists as a SQL expression (`final_price_sql`) so
filters and sorts on price agree with what the detail page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, case, literal

from lugx.services.catalog.models import Game


class Priced(Protocol):
    """What pricing reads of an item: a `Game`, or a plain row of these columns."""

    @property
    def base_price(self) -> int: ...
    @property
    def discount_percent(self) -> int | None: ...
    @property
    def discount_starts_at(self) -> datetime | None: ...
    @property
    def discount_ends_at(self) -> datetime | None: ...
    @property
    def bundle_discount_percent(self) -> int: ...


class SellableItem(Priced, Protocol):
    """What selling an item reads of it (catalog.operations.sellables)."""

    @property
    def id(self) -> Any: ...
    @property
    def app_id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def header_image(self) -> str | None: ...


def discounted(amount: int, percent: int) -> int:
    return (amount * (100 - percent) + 50) // 100


def active_discount(game: Priced, now: datetime) -> int:
    """The percent off right now (0 if none)."""
    if (
        game.discount_percent
        and game.discount_starts_at is not None
        and game.discount_ends_at is not None
        and game.discount_starts_at <= now < game.discount_ends_at
    ):
        return game.discount_percent
    return 0


@dataclass(frozen=True, slots=True)
class Quote:
    currency: str
    amount: int  # before discount
    final: int  # what the player pays now
    discount_percent: int
    discount_ends_at: datetime | None


def quote(
    game: Priced, now: datetime, *, currency: str = "USD", regional: dict[str, int] | None = None
) -> Quote:
    """The price of one item. Regional prices are used where the publisher set one; anything
    else is in the store's base currency (USD)."""
    amount = game.base_price
    if currency != "USD" and regional and currency in regional:
        amount = regional[currency]
    else:
        currency = "USD"
    percent = active_discount(game, now)
    return Quote(
        currency=currency,
        amount=amount,
        final=discounted(amount, percent) if percent else amount,
        discount_percent=percent,
        discount_ends_at=game.discount_ends_at if percent else None,
    )


def bundle_quote(bundle: Priced, items: list[Quote], now: datetime) -> Quote:
    """'Complete the set': the items still missing, less the bundle's own discount (and any
    store discount running on the bundle itself, whichever is larger)."""
    currency = items[0].currency if items else "USD"
    subtotal = sum(item.final for item in items)
    percent = max(bundle.bundle_discount_percent, active_discount(bundle, now))
    return Quote(
        currency=currency,
        amount=subtotal,
        final=discounted(subtotal, percent) if percent else subtotal,
        discount_percent=percent,
        discount_ends_at=bundle.discount_ends_at if active_discount(bundle, now) else None,
    )


def next_price_change(game: Game, now: datetime) -> datetime | None:
    """When the price shown now stops being true (a discount starts or ends): caches of a
    game's price must not outlive it."""
    for moment in (game.discount_starts_at, game.discount_ends_at):
        if moment is not None and moment > now:
            return moment
    return None


def final_price_sql(now: datetime) -> ColumnElement[Any]:
    """`final_price` in SQL, in the base currency, for `now`."""
    running = and_(
        Game.discount_percent.is_not(None),
        Game.discount_starts_at <= now,
        Game.discount_ends_at > now,
    )
    return case(
        (running, (Game.base_price * (literal(100) - Game.discount_percent) + 50) // 100),
        else_=Game.base_price,
    )


def on_sale_sql(now: datetime) -> ColumnElement[bool]:
    return and_(
        Game.discount_percent.is_not(None),
        Game.discount_starts_at <= now,
        Game.discount_ends_at > now,
    )
