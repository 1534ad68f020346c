"""Events of the catalog service.

Published (through the outbox, in the transaction of the change); each also carries
`related_app_ids` when other games' pages show this one (a DLC's base game, bundles holding it):
- `GamePublished` {app_id, game_id, type, title, publisher_id, base_price, currency}
- `GameUpdated` {app_id, game_id, changed} (also after a review summary is applied:
  `changed: ["review_summary"]`)
- `GameUnpublished` {app_id, game_id}
- `GamePriceChanged` {app_id, game_id, currency, old_price, new_price, final_price}
- `GameDiscountScheduled` {app_id, game_id, phase: "scheduled", percent, starts_at, ends_at, ...}
- `GameDiscounted` {app_id, game_id, phase: "started" | "ended", percent, starts_at, ends_at,
  currency, base_price, final_price}: when a discount begins and when it is over

Consumed:
- `GameReviewSummaryChanged` (reviews service) {app_id, total, positive, score, description,
  recent_score, recent_description}: the catalog's copy of each game's review score.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import after_commit, utcnow
from lugx.platform.events import Event, Handler
from lugx.platform.service import ServiceContext
from lugx.services.catalog import service

log = structlog.get_logger(__name__)

DISCOUNT_TICK_SECONDS = 5.0


def consumers(ctx: ServiceContext) -> dict[str, Handler]:
    catalog: service.Catalog = ctx.extras["catalog"]

    async def review_summary_changed(session: AsyncSession, event: Event) -> None:
        app_id = await service.on_review_summary_changed(session, catalog, event)
        if app_id is not None:
            after_commit(session, lambda: service.forget(catalog, app_id))

    return {"GameReviewSummaryChanged": review_summary_changed}


async def announce_discounts_forever(ctx: ServiceContext) -> None:
    """Publish `GameDiscounted` as discounts start and end, and roll prices forward."""
    catalog: service.Catalog = ctx.extras["catalog"]
    while True:
        try:
            async with ctx.db.session() as session:
                changed = await service.announce_discounts(session, catalog, utcnow())
            if changed:
                await service.forget(catalog, *changed)
        except Exception:
            log.exception("announcing discounts failed; retrying")
        await asyncio.sleep(DISCOUNT_TICK_SECONDS)
