"""The quick start's catalog: `lugx up`'s first start loads a small generated store (only into
an empty catalog) and makes the demo `studio` account a member of its busiest publisher."""

from __future__ import annotations

import structlog
from sqlalchemy import func, select

from lugx.platform.errors import LugxError
from lugx.platform.service import ServiceContext
from lugx.services.catalog import repository as repo
from lugx.services.catalog.models import Game, PublisherMember
from lugx.services.catalog.seed_generate import generate
from lugx.services.catalog.seed_load import catalog_is_empty, load
from lugx.services.users.client import UsersClient  # the users service's public client

log = structlog.get_logger(__name__)

DEMO_GAMES = 200
DEMO_SEED = 42
DEMO_PUBLISHER_LOGIN = "studio"  # the demo account of the users service (README)


async def seed_demo(ctx: ServiceContext) -> None:
    """`lugx up`'s first start: a small store to browse, only into an empty catalog."""
    async with ctx.db.session(write=False) as session:
        if not await catalog_is_empty(session):
            return
    report = await load(ctx, generate(DEMO_GAMES, DEMO_SEED))
    log.info("demo catalog loaded", games=report.rows["games"])
    await _adopt_demo_publisher(ctx)


async def _adopt_demo_publisher(ctx: ServiceContext) -> None:
    """Make the demo `studio` account (README) a member of the demo publisher with the most
    games, so the publisher's journey works from the first start."""
    try:
        studio = await ctx.clients.get(UsersClient).profile(DEMO_PUBLISHER_LOGIN)
    except LugxError:
        log.info("no demo publisher account to link", login=DEMO_PUBLISHER_LOGIN)
        return
    async with ctx.db.session() as session:
        busiest = (
            await session.execute(
                select(Game.publisher_id)
                .group_by(Game.publisher_id)
                .order_by(func.count().desc(), Game.publisher_id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if busiest is not None and not await repo.is_member(session, busiest, studio.id):
            session.add(PublisherMember(publisher_id=busiest, user_id=studio.id, role="owner"))
