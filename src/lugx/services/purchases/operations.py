"""What other services ask purchases, as functions of its context: its internal routes answer
them over HTTP, and its typed client runs them directly when purchases is in the caller's
process (see lugx.platform.clients)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from lugx.platform.errors import check_size
from lugx.platform.service import ServiceContext
from lugx.services.purchases import repository as repo
from lugx.services.purchases.schemas import OwnedItem

OWNED_PER_CALL = 500


async def owned(
    ctx: ServiceContext, user_id: uuid.UUID, app_ids: Sequence[int]
) -> dict[int, OwnedItem]:
    """Which of the asked app_ids the user owns now, by app_id (revoked ones are not owned).
    At most OWNED_PER_CALL app_ids."""
    check_size("app_id", len(app_ids), most=OWNED_PER_CALL)
    async with ctx.db.session(write=False) as session:
        rows = await repo.owned(session, user_id, list(app_ids))
    return {
        row.app_id: OwnedItem(
            app_id=row.app_id,
            source=row.source,
            playtime_minutes=row.playtime_minutes,
            acquired_at=row.acquired_at,
        )
        for row in rows
    }
