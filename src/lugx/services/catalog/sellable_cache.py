"""What selling a game reads of it (`pricing.SellableItem`), kept in the catalog's cache: every
cart change and checkout asks for it (operations.sellables), and it changes only when the
catalog changes the game.

An entry is the game's row, not its price: the price is worked out from the row when it is
asked for, so a discount that starts or ends needs no change of the entry. Each entry carries
the catalog's generation as it was before the row was read (`service.forget` moves it on after
every committed change, as it drops the game's entries): an entry stored by a read that raced a
change carries the old generation and is not used again. Entries also expire, as a safety net
for a change made outside the service (`lugx seed` into a running catalog's files).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from lugx.platform.cache import Cache
from lugx.platform.db import Database
from lugx.services.catalog import repository as repo
from lugx.services.catalog.pricing import SellableItem

ENTRY_SECONDS = 300
_DATETIMES = ("discount_starts_at", "discount_ends_at")


def sellable_key(app_id: int) -> str:
    return f"catalog:sellable:{app_id}"


@dataclass(frozen=True, slots=True)
class SellableRow:
    """A game as selling it reads it; a bundle with its items' app ids, in order."""

    id: uuid.UUID
    app_id: int
    type: str
    status: str
    title: str
    header_image: str | None
    base_price: int
    discount_percent: int | None
    discount_starts_at: datetime | None
    discount_ends_at: datetime | None
    bundle_discount_percent: int
    items: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, row: SellableItem, items: list[int]) -> SellableRow:
        """The row's columns (every field but `items`), and the bundle's items."""
        return cls(**{name: getattr(row, name) for name in _COLUMNS}, items=items)


_COLUMNS = tuple(f.name for f in fields(SellableRow) if f.name != "items")


def encode(generation: int, row: SellableRow) -> bytes:
    values = asdict(row)
    values["id"] = row.id.hex
    for name in _DATETIMES:
        moment = values[name]
        values[name] = moment.isoformat() if moment is not None else None
    return json.dumps([generation, values], separators=(",", ":")).encode()


def decode(raw: bytes | None, generation: int) -> SellableRow | None:
    """The stored row, unless it is missing or was stored under another generation."""
    if raw is None:
        return None
    stored, values = json.loads(raw)
    if stored != generation:
        return None
    values["id"] = uuid.UUID(values["id"])
    for name in _DATETIMES:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return SellableRow(**values)


async def load(
    cache: Cache, db: Database, generation: int, app_ids: Collection[int]
) -> dict[int, SellableRow]:
    """These games' rows, from the cache (one lookup for them all) or else read (one query, two
    when there are bundles, whose items' rows come with them); what was read is stored. Unknown
    app_ids are left out; the items of a bundle read here may come too."""
    found: dict[int, SellableRow] = {}
    missing = []
    asked = list(app_ids)
    kept = await cache.get_many([sellable_key(app_id) for app_id in asked])
    for app_id, raw in zip(asked, kept, strict=True):
        row = decode(raw, generation)
        if row is None:
            missing.append(app_id)
        else:
            found[app_id] = row
    if missing:
        for row in await _read(db, missing):
            found.setdefault(row.app_id, row)
            await cache.set(sellable_key(row.app_id), encode(generation, row), ENTRY_SECONDS)
    return found


async def _read(db: Database, app_ids: list[int]) -> list[SellableRow]:
    async with db.session(write=False) as session:
        games = await repo.sellable_games(session, app_ids)
        bundles = [game.id for game in games if game.type == "bundle"]
        contents = await repo.bundle_contents(session, bundles)
    items_of: dict[uuid.UUID, list[int]] = {}
    for bundle_id, item in contents:
        items_of.setdefault(bundle_id, []).append(item.app_id)
    rows = [SellableRow.of(game, items_of.get(game.id, [])) for game in games]
    # A bundle's items are whole rows too; one that is itself a bundle is read on its own.
    rows += [SellableRow.of(item, []) for _, item in contents if item.type != "bundle"]
    return rows
