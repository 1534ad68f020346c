"""The reviews service: reviews, votes, comments, reports, moderation, review summaries."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.service import ServiceSpec
from lugx.services.reviews import moderation_routes, routes
from lugx.services.reviews.models import EVENTS, Base
from lugx.services.reviews.seed import seed_demo
from lugx.services.reviews.summaries import refresh_recent_forever


def routers() -> list[APIRouter]:
    return [routes.router, moderation_routes.router]


SPEC = ServiceSpec(
    name="reviews",
    title="Reviews",
    description="Player reviews, helpful and funny votes, comments, reports, moderation and "
    "each game's review summary.",
    metadata=Base.metadata,
    event_tables=EVENTS,
    migrations_package="lugx.services.reviews.migrations",
    routers=routers,
    seed_demo=seed_demo,
    background=(refresh_recent_forever,),
)
