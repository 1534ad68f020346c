"""The library: entitlements granted and revoked, free claims, product keys, playtime.
Functions take the caller's session and flush; they never commit."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.errors import Conflict, NotFound, ValidationFailed
from lugx.platform.events import EventBus
from lugx.services.purchases import repository as repo
from lugx.services.purchases.models import Entitlement, PlaySession, ProductKey

MAX_SESSION = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=2)  # a game client's clock may run a little ahead
KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: keys are typed by hand


@dataclass(frozen=True)
class Grant:
    """One app to put in one library."""

    user_id: uuid.UUID
    app_id: int
    title: str
    source: str
    order_id: uuid.UUID | None = None
    gifted_by: uuid.UUID | None = None


def _payload(ent: Entitlement) -> dict[str, object]:
    return {
        "user_id": str(ent.user_id),
        "app_id": ent.app_id,
        "source": ent.source,
        "order_id": str(ent.order_id) if ent.order_id else None,
    }


async def grant_all(
    session: AsyncSession, bus: EventBus, grants: Sequence[Grant], now: datetime
) -> list[Entitlement]:
    """Put each app in its library, all in one statement, and tell EntitlementGranted for each
    one granted now. Returns those; an app already in the library is left out (nothing changes
    for it). A revoked entitlement comes back, keeping its playtime."""
    first: dict[tuple[uuid.UUID, int], Grant] = {}
    for g in grants:
        first.setdefault((g.user_id, g.app_id), g)  # one row per library entry per statement
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": g.user_id,
            "app_id": g.app_id,
            "title": g.title,
            "source": g.source,
            "order_id": g.order_id,
            "gifted_by": g.gifted_by,
            "acquired_at": now,
            "playtime_minutes": 0,
        }
        # Sorted: two transactions granting the same entries lock them in one order (PostgreSQL).
        for _, g in sorted(first.items(), key=lambda item: (str(item[0][0]), item[0][1]))
    ]
    granted = {(e.user_id, e.app_id): e for e in await repo.grant_rows(session, rows)}
    in_order = [granted[key] for key in first if key in granted]
    for ent in in_order:
        await bus.publish(session, "EntitlementGranted", str(ent.user_id), _payload(ent))
    return in_order


async def grant(
    session: AsyncSession, bus: EventBus, g: Grant, now: datetime
) -> Entitlement | None:
    """One app into one library: the entitlement, or None if it was there already."""
    granted = await grant_all(session, bus, [g], now)
    return granted[0] if granted else None


async def revoke(session: AsyncSession, bus: EventBus, ent: Entitlement, now: datetime) -> None:
    if ent.revoked_at is not None:
        return
    ent.revoked_at = now
    await session.flush()
    await bus.publish(session, "EntitlementRevoked", str(ent.user_id), _payload(ent))


# --- product keys ---------------------------------------------------------------------------


def key_hash(key: str) -> str:
    normalised = key.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_key() -> str:
    chars = "".join(secrets.choice(KEY_ALPHABET) for _ in range(15))
    return "-".join(chars[i : i + 5] for i in range(0, 15, 5))


async def make_keys(
    session: AsyncSession, app_id: int, title: str, count: int, created_by: uuid.UUID
) -> list[str]:
    keys = [new_key() for _ in range(count)]
    session.add_all(
        ProductKey(app_id=app_id, title=title, key_hash=key_hash(key), created_by=created_by)
        for key in keys
    )
    await session.flush()
    return keys


async def take_key(
    session: AsyncSession, key: str, user_id: uuid.UUID, now: datetime
) -> ProductKey:
    """Mark the key redeemed by `user_id`. One redemption per key."""
    product_key = await repo.key_by_hash(session, key_hash(key))
    if product_key is None:
        raise NotFound("No such product key", code="key-not-found")
    if product_key.redeemed_at is not None:
        raise Conflict("This key has already been redeemed", code="key-redeemed")
    product_key.redeemed_by, product_key.redeemed_at = user_id, now
    await session.flush()
    return product_key


# --- playtime -------------------------------------------------------------------------------


def check_session(start: datetime, end: datetime, now: datetime) -> int:
    """The session's whole minutes; ValidationFailed if the times make no sense."""
    if end <= start:
        raise ValidationFailed("ended_at must be after started_at", code="playtime-invalid")
    if end > now + CLOCK_SKEW:
        raise ValidationFailed("A session cannot end in the future", code="playtime-invalid")
    if end - start > MAX_SESSION:
        raise ValidationFailed("A session lasts at most 24 hours", code="playtime-invalid")
    return int((end - start).total_seconds() // 60)


async def record_playtime(
    session: AsyncSession,
    user_id: uuid.UUID,
    app_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Entitlement:
    """Add one session to the owner's totals. Overlapping a recorded session is refused, which
    also makes a game client's retry of the same report harmless."""
    minutes = check_session(start, end, now)
    ent = await repo.entitlement(session, user_id, app_id, lock=True)
    if ent is None or ent.revoked_at is not None:
        raise NotFound(f"You do not own app {app_id}", code="not-owned")
    if await repo.overlapping_session(session, user_id, app_id, start, end) is not None:
        raise Conflict("This session overlaps one already recorded", code="playtime-overlap")
    session.add(
        PlaySession(user_id=user_id, app_id=app_id, started_at=start, ended_at=end, minutes=minutes)
    )
    ent.playtime_minutes += minutes
    if ent.last_played_at is None or end > ent.last_played_at:
        ent.last_played_at = end
    await session.flush()
    return ent
