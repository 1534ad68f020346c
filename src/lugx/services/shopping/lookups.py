"""What shopping asks other services: the catalog (what is for sale and at what price, who
publishes a game), purchases (who owns what) and users (does a gift's recipient exist). Every
call goes through `ctx.client(...)`, so it carries the shopping service's token.

A cart's lines are learnt about with `learn`: the catalog asked once for every line (bundles'
items come with them), purchases once per future owner (the buyer, each gift's recipient).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from lugx.platform.clients import side_by_side
from lugx.platform.errors import NotFound
from lugx.platform.service import ServiceContext
from lugx.services import SERVICE_MODULES
from lugx.services.catalog.client import CatalogClient
from lugx.services.catalog.schemas import SELLABLES_PER_CALL, Sellable
from lugx.services.users.client import UsersClient


async def sellables(ctx: ServiceContext, app_ids: Iterable[int]) -> dict[int, Sellable]:
    """The catalog's items among `app_ids` whatever their status (unknown ones left out), and
    the items of the bundles among them."""
    wanted = sorted(set(app_ids))
    catalog = ctx.client(CatalogClient)
    found: dict[int, Sellable] = {}
    for start in range(0, len(wanted), SELLABLES_PER_CALL):
        found.update(await catalog.sellables(wanted[start : start + SELLABLES_PER_CALL]))
    return found


def for_sale(items: dict[int, Sellable], app_id: int) -> Sellable:
    """The item if it is for sale now; NotFound when unknown or not published."""
    item = items.get(app_id)
    if item is None or item.status != "published":
        raise NotFound(f"No game with app_id {app_id} is for sale", code="game-not-found")
    return item


async def for_sale_now(ctx: ServiceContext, app_ids: Iterable[int]) -> dict[int, Sellable]:
    """The published ones among `app_ids`, with their USD prices now (the others left out)."""
    return {
        app_id: item
        for app_id, item in (await sellables(ctx, app_ids)).items()
        if item.status == "published"
    }


async def manages_game(ctx: ServiceContext, app_id: int, user_id: uuid.UUID) -> bool:
    """Whether the user belongs to the game's publisher (NotFound: no such game)."""
    return await ctx.client(CatalogClient).is_publisher_member(app_id, user_id)


async def owned(ctx: ServiceContext, user_id: uuid.UUID, app_ids: Iterable[int]) -> set[int]:
    """The app_ids among these that the user owns. A build without the purchases service has
    no library, so nobody owns anything (as the catalog assumes)."""
    wanted = sorted(set(app_ids))
    if not wanted or "purchases" not in SERVICE_MODULES:
        return set()
    from lugx.services.purchases.client import PurchasesClient  # optional service

    return set(await ctx.client(PurchasesClient).owned(user_id, wanted))


async def user_exists(ctx: ServiceContext, user_id: uuid.UUID) -> bool:
    try:
        await ctx.client(UsersClient).profile(user_id)
    except NotFound:
        return False
    return True


# --- what pricing a cart needs to know ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """A cart line, as far as asking about it goes."""

    app_id: int
    owner: uuid.UUID  # its future owner: the buyer, or the gift's recipient
    bundle: bool | None  # None: not known yet (a game being added)


@dataclass(slots=True)
class Known:
    """What the catalog and purchases said about some lines: the catalog's items (of the
    app_ids in `asked`), and for each future owner what they own among `asked_owned[owner]`."""

    items: dict[int, Sellable] = field(default_factory=dict)
    asked: set[int] = field(default_factory=set)
    owned: dict[uuid.UUID, set[int]] = field(default_factory=dict)
    asked_owned: dict[uuid.UUID, set[int]] = field(default_factory=dict)

    def owned_by(self, owner: uuid.UUID) -> set[int]:
        return self.owned.get(owner, set())


async def learn(
    ctx: ServiceContext,
    lines: list[Line],
    known: Known | None = None,
    *,
    owned_for_bundles_only: bool = False,
) -> Known:
    """Ask what pricing these lines needs that `known` does not say yet: the catalog once, then
    purchases once per future owner about the lines and the bundles' items. When none of the
    new lines can be a bundle nothing waits on the catalog, and both are asked at once.
    `owned_for_bundles_only`: purchases is asked only about bundles (whose price depends on
    what their owner has), for a caller that leaves the refusal of owned games to purchases."""
    known = known if known is not None else Known()
    new = {line.app_id for line in lines} - known.asked
    if owned_for_bundles_only:
        await _ask_catalog(ctx, known, new)
        bundles = [line for line in lines if _is_bundle(known, line)]
        if bundles:
            await _ask_purchases(ctx, known, bundles)
        return known
    if any(line.bundle is not False for line in lines if line.app_id in new):
        await _ask_catalog(ctx, known, new)
        await _ask_purchases(ctx, known, lines)
    else:
        await side_by_side(
            ctx.remote("catalog", "purchases"),
            _ask_catalog(ctx, known, new),
            _ask_purchases(ctx, known, lines),
        )
        if _unasked(known, lines):  # a line was a bundle after all: ask about its items
            await _ask_purchases(ctx, known, lines)
    return known


async def _ask_catalog(ctx: ServiceContext, known: Known, app_ids: set[int]) -> None:
    if app_ids:
        known.items.update(await sellables(ctx, app_ids))
        known.asked.update(app_ids)


async def _ask_purchases(ctx: ServiceContext, known: Known, lines: list[Line]) -> None:
    wanted = _unasked(known, lines)
    owners = list(wanted)
    answers = await side_by_side(
        ctx.remote("purchases"), *(owned(ctx, owner, wanted[owner]) for owner in owners)
    )
    for owner, found in zip(owners, answers, strict=True):
        known.asked_owned.setdefault(owner, set()).update(wanted[owner])
        known.owned.setdefault(owner, set()).update(found)


def _is_bundle(known: Known, line: Line) -> bool:
    item = known.items.get(line.app_id)
    return item is not None and item.type == "bundle"


def _unasked(known: Known, lines: list[Line]) -> dict[uuid.UUID, set[int]]:
    """For each future owner, the apps (lines and the items of known bundles) not yet asked."""
    wanted: dict[uuid.UUID, set[int]] = {}
    for line in lines:
        item = known.items.get(line.app_id)
        contents = item.bundle_items if item is not None and item.type == "bundle" else []
        wanted.setdefault(line.owner, set()).update([line.app_id, *contents])
    unasked = {owner: apps - known.asked_owned.get(owner, set()) for owner, apps in wanted.items()}
    return {owner: apps for owner, apps in unasked.items() if apps}
