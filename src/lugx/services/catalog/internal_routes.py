"""Endpoints only other services call (`require_service`): what they must ask of the catalog
that the public API does not answer, or answers at more cost than they need."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from lugx.platform.auth.service_calls import require_service
from lugx.platform.db import DbSession
from lugx.platform.errors import NotFound
from lugx.platform.listing import Ctx
from lugx.services.catalog import operations
from lugx.services.catalog import repository as repo
from lugx.services.catalog.schemas import SELLABLES_PER_CALL, GameManagers, Sellable

router = APIRouter(
    prefix="/internal/v1/catalog",
    tags=["internal"],
    include_in_schema=False,
    dependencies=[Depends(require_service("shopping", "reviews", "purchases"))],
)


@router.get("/games/{app_id}/members/{user_id}", response_model=GameManagers)
async def game_member(app_id: int, user_id: uuid.UUID, session: DbSession) -> GameManagers:
    """Whether a user belongs to the publisher that owns a game (published or not). The caller
    still checks the user's role (`publisher`) and lets admins through on its own."""
    game = await repo.game_by_app_id(session, app_id)
    if game is None:
        raise NotFound(f"No game with app_id {app_id}")
    member = await repo.is_member(session, game.publisher_id, user_id)
    return GameManagers(app_id=app_id, publisher_id=game.publisher_id, member=member)


@router.get("/sellables", response_model=dict[str, Sellable])
async def sellables(
    ctx: Ctx,
    app_ids: Annotated[list[int], Query(min_length=1, max_length=SELLABLES_PER_CALL)],
) -> dict[str, Sellable]:
    """What a cart needs of these items now, by app_id (operations.sellables)."""
    return {
        str(app_id): item for app_id, item in (await operations.sellables(ctx, app_ids)).items()
    }
