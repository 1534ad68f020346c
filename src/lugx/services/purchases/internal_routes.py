"""Endpoints only other services call (`require_service`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from lugx.platform.auth.service_calls import require_service
from lugx.platform.listing import Ctx
from lugx.services.purchases import operations
from lugx.services.purchases.schemas import OwnedList

router = APIRouter(
    prefix="/internal/v1/purchases",
    tags=["internal"],
    include_in_schema=False,
    dependencies=[Depends(require_service("shopping", "catalog", "reviews", "web"))],
)


@router.get("/users/{user_id}/owned", response_model=OwnedList)
async def owned(
    user_id: uuid.UUID,
    ctx: Ctx,
    app_id: Annotated[list[int], Query(min_length=1, max_length=operations.OWNED_PER_CALL)],
) -> OwnedList:
    """Which of the asked app_ids the user owns now (revoked ones are not owned)."""
    return OwnedList(items=list((await operations.owned(ctx, user_id, app_id)).values()))
