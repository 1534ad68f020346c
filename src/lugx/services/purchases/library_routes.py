"""HTTP endpoints of the library: what you own, free claims, product keys, playtime."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Protocol, cast

from fastapi import APIRouter, Depends, Path, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import CurrentUser, Principal, require_roles
from lugx.platform.db import DbSession, utcnow
from lugx.platform.errors import Conflict, NotFound
from lugx.platform.http_cache import JSON
from lugx.platform.listing import Ctx, keyset_page
from lugx.platform.pagination import Cursor, Limit, Page
from lugx.platform.service import ServiceContext
from lugx.services.catalog.client import CatalogClient
from lugx.services.catalog.schemas import GameDetail
from lugx.services.purchases import library
from lugx.services.purchases import repository as repo
from lugx.services.purchases.routes import PREFIX, by_time, keyset
from lugx.services.purchases.schemas import (
    EntitlementRead,
    KeyRedeem,
    KeysCreate,
    KeysCreated,
    PlaytimeReport,
    Source,
)

router = APIRouter(prefix=PREFIX, tags=["library"])

AppId = Annotated[int, Path(ge=1, le=2_000_000_000)]


class LibraryEntry(Protocol):
    """What an entitlement shows: an Entitlement, or a row of a library page."""

    @property
    def app_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def acquired_at(self) -> datetime: ...
    @property
    def playtime_minutes(self) -> int: ...
    @property
    def last_played_at(self) -> datetime | None: ...
    @property
    def order_id(self) -> uuid.UUID | None: ...
    @property
    def gifted_by(self) -> uuid.UUID | None: ...


def entitlement_read(ent: LibraryEntry) -> EntitlementRead:
    return EntitlementRead(
        app_id=ent.app_id,
        title=ent.title,
        source=cast(Source, ent.source),
        acquired_at=ent.acquired_at,
        playtime_minutes=ent.playtime_minutes,
        last_played_at=ent.last_played_at,
        order_id=ent.order_id,
        gifted_by=ent.gifted_by,
    )


async def _game(ctx: ServiceContext, app_id: int) -> GameDetail:
    try:
        return await ctx.client(CatalogClient).game(app_id)
    except NotFound as exc:
        raise NotFound(f"No game with app_id {app_id}", code="game-not-found") from exc


@router.get("/library", response_model=Page[EntitlementRead])
async def my_library(
    ctx: Ctx,
    principal: CurrentUser,
    session: DbSession,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Your games, most recently acquired first."""
    after = keyset(ctx.secret_key, cursor)
    rows = await repo.library(session, principal.user_id, limit=limit + 1, after=after)
    page = keyset_page(ctx.secret_key, rows, limit, entitlement_read, by_time("acquired_at"))
    # Serialised once, by pydantic-core: the page is already made of the response's models.
    return Response(page.model_dump_json(), media_type=JSON)


@router.post(
    "/library/{app_id}/claim", status_code=status.HTTP_201_CREATED, response_model=EntitlementRead
)
async def claim_free(app_id: AppId, principal: CurrentUser, ctx: Ctx) -> EntitlementRead:
    """Add a game that costs nothing right now to your library."""
    game = await _game(ctx, app_id)  # before the write: no lock held while the catalog answers
    if game.type == "bundle" or game.final_price.amount != 0:
        raise Conflict(f"{game.title} is not free", code="not-free")
    async with ctx.db.session() as session:
        return await _grant(ctx, session, principal, game.app_id, game.title, "free")


@router.post("/library/{app_id}/playtime", response_model=EntitlementRead)
async def report_playtime(
    app_id: AppId, body: PlaytimeReport, principal: CurrentUser, session: DbSession
) -> EntitlementRead:
    """A game client reports one session of play; totals are kept on the library entry."""
    ent = await library.record_playtime(
        session, principal.user_id, app_id, body.started_at, body.ended_at, utcnow()
    )
    return entitlement_read(ent)


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeysCreated)
async def make_keys(
    body: KeysCreate,
    admin: Annotated[Principal, Depends(require_roles("admin"))],
    ctx: Ctx,
) -> KeysCreated:
    """Product keys for a game or DLC (admin). The keys are shown this once."""
    game = await _game(ctx, body.app_id)  # before the write: no lock held while it answers
    if game.type == "bundle":
        raise Conflict("Keys are made for the games in a bundle, not the bundle", code="bundle")
    async with ctx.db.session() as session:
        keys = await library.make_keys(session, game.app_id, game.title, body.count, admin.user_id)
    return KeysCreated(app_id=game.app_id, keys=keys)


@router.post("/keys/redeem", status_code=status.HTTP_201_CREATED, response_model=EntitlementRead)
async def redeem_key(
    body: KeyRedeem, principal: CurrentUser, ctx: Ctx, session: DbSession
) -> EntitlementRead:
    """Redeem a product key: the game joins your library. A key works once; a key for a game
    you already own is refused and stays unused."""
    now = utcnow()
    key = await library.take_key(session, body.key, principal.user_id, now)
    return await _grant(ctx, session, principal, key.app_id, key.title, "key")


async def _grant(
    ctx: ServiceContext,
    session: AsyncSession,
    principal: Principal,
    app_id: int,
    title: str,
    source: str,
) -> EntitlementRead:
    grant = library.Grant(user_id=principal.user_id, app_id=app_id, title=title, source=source)
    ent = await library.grant(session, ctx.events, grant, utcnow())
    if ent is None:
        # Raising rolls the transaction back: a key stays unused.
        raise Conflict(f"You already own {title}", code="already-owned")
    return entitlement_read(ent)
