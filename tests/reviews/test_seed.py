"""The bench loader, the demo reviews, and the daily refresh of recent scores."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from lugx.platform.bootstrap import Platform
from lugx.platform.db import utcnow
from lugx.services.reviews.models import GameSummary, Review, ReviewVote
from lugx.services.reviews.scoring import wilson_lower_bound
from lugx.services.reviews.seed import BenchLoad, load_bench, seed_demo
from lugx.services.reviews.summaries import refresh_recent
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS


async def test_the_bench_load_counts_what_it_inserts(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    ctx = platform.runtimes["reviews"].ctx
    await load_bench(ctx, BenchLoad(app_id=40, reviews=300, votes=3_000, seed=7))
    async with database_of(platform, "reviews").session(write=False) as session:
        votes = (await session.execute(select(func.count()).select_from(ReviewVote))).scalar_one()
        reviews = list((await session.execute(select(Review))).scalars())
        tallies = dict(
            (
                await session.execute(
                    select(ReviewVote.kind, func.count()).group_by(ReviewVote.kind)
                )
            ).all()
        )
    assert votes == 3_000
    assert len(reviews) == 300
    assert sum(r.helpful_yes + r.helpful_no for r in reviews) == tallies["helpful"]
    assert sum(r.funny for r in reviews) == tallies["funny"]
    for r in reviews:
        assert r.wilson_score == wilson_lower_bound(r.helpful_yes, r.helpful_yes + r.helpful_no)
    summary = (await client.get(f"{REVIEWS}/games/40/summary")).json()
    assert summary["all_time"]["total"] == 300
    assert summary["all_time"]["positive"] == sum(r.recommended for r in reviews)
    page = (await client.get(f"{REVIEWS}/games/40/reviews", params={"limit": 5})).json()
    best = sorted(reviews, key=lambda r: (r.wilson_score, r.id), reverse=True)[:5]
    assert [item["id"] for item in page["items"]] == [str(r.id) for r in best]


async def test_a_day_leaving_the_recent_window_is_republished(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    ctx = platform.runtimes["reviews"].ctx
    await load_bench(ctx, BenchLoad(app_id=50, reviews=40, votes=0))
    today = utcnow().date()
    async with ctx.db.session() as session:
        await session.execute(
            update(GameSummary).values(recent_as_of=today - timedelta(days=1), recent_total=999)
        )
    # The service's own loop (started with the platform) may get there first: either way the
    # game is refreshed once, and then it is done for today.
    assert await refresh_recent(ctx, today) in (0, 1)
    assert await refresh_recent(ctx, today) == 0
    async with ctx.db.session(write=False) as session:
        row = await session.get(GameSummary, 50)
    assert row is not None
    recent = (await client.get(f"{REVIEWS}/games/50/summary")).json()["recent"]
    assert row.recent_total == recent["total"] != 999


async def test_demo_reviews_give_the_demo_store_scores(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    from lugx.services.catalog.seed import seed_demo as catalog_demo

    await catalog_demo(platform.runtimes["catalog"].ctx)
    ctx = platform.runtimes["reviews"].ctx
    await seed_demo(ctx)
    await seed_demo(ctx)  # a second start adds nothing
    async with ctx.db.session(write=False) as session:
        written = (await session.execute(select(func.count()).select_from(Review))).scalar_one()
        app_ids = list((await session.execute(select(Review.app_id).distinct())).scalars())
    assert written == 12 * len(app_ids)
    assert len(app_ids) == 5
    summary = (await client.get(f"{REVIEWS}/games/{app_ids[0]}/summary")).json()
    assert summary["all_time"]["total"] == 12
    assert summary["all_time"]["description"] is not None
    reviewer = await client.get("/api/v1/users/reviewer01")
    assert reviewer.status_code == 200
