"""The reviews service's benchmark (issue 5): one game with 100,000 reviews and 1,000,000
votes, on a small catalog (the data set `reviews`: `lugx seed --games 1000 --reviews 100000
--votes 1000000`, game `BENCH_APP_ID`), then:

- `reviews-helpful`: the first page of the game's reviews, most helpful first, 16 connections,
  p99 <= 20 ms: one backward range of ix_reviews_helpful, 21 rows.
- `reviews-summary`: the game's summary, 16 connections, p99 <= 5 ms: the summary row and at
  most 30 day rows.

The first page is not marked shareable, so the gateway's edge cache never answers it (checked
before the load): every request reaches the reviews service, which keeps first pages (30 s) in
its own cache until the game's next change. The summary is public for 30 s: the edge answers
repeats and drops it when the game's `GameReviewSummaryChanged` passes (as it does a catalog
game page). What a read costs when no cache can answer is measured first (a vote, then the read
with a query string the edge has never seen, one at a time) and printed under the table.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from lugx.bench.server import BenchError

if TYPE_CHECKING:
    from lugx.bench.scenarios import Request

REVIEWS = "/api/v1/reviews"
# The game `lugx seed --reviews` loads (lugx.services.reviews.seed.BENCH_APP_ID; not imported:
# the bench must import without the reviews service in the build).
BENCH_APP_ID = 10
BENCH_REVIEWS = 100_000
BENCH_VOTES = 1_000_000
BENCH_GAMES = 1_000  # the small catalog under them
CONNECTIONS = 16
COLD_READS = 200  # reads right after a change, before the load
COLD_SECONDS = 30.0  # and at most this long
HELPFUL_PATH = f"{REVIEWS}/games/{BENCH_APP_ID}/reviews?sort=helpful"
SUMMARY_PATH = f"{REVIEWS}/games/{BENCH_APP_ID}/summary"


def seed_argv(reviews: int = BENCH_REVIEWS, votes: int = BENCH_VOTES) -> list[str]:
    """The `lugx seed` arguments that add the reviews to a `--games` load."""
    return ["--reviews", str(reviews), "--votes", str(votes)]


async def reviews_helpful(http: httpx.AsyncClient) -> Request:
    from lugx.bench.scenarios import not_cached_at_the_edge

    await not_cached_at_the_edge(http, HELPFUL_PATH)
    return await _measured(
        http,
        HELPFUL_PATH,
        "The service keeps the first page in its cache until the game's "
        "next change, so the load mostly reads that",
    )


async def reviews_summary(http: httpx.AsyncClient) -> Request:
    return await _measured(
        http,
        SUMMARY_PATH,
        "The summary is public for 30 s: the gateway's edge cache answers "
        "repeats until the game's summary event drops it",
    )


async def _measured(http: httpx.AsyncClient, path: str, how: str) -> Request:
    from lugx.bench.scenarios import Request, _quantile

    total = await _loaded(http)
    cold = await uncached_reads(http, path)
    return Request(
        "GET",
        path,
        note=(
            f"game {BENCH_APP_ID}, {total:,} reviews. {how}; {len(cold)} reads right after a "
            f"vote, past every cache (the database answers), one at a time: "
            f"p50 {_quantile(cold, 0.5):.2f} ms, p99 {_quantile(cold, 0.99):.2f} ms"
        ),
    )


async def _loaded(http: httpx.AsyncClient) -> int:
    response = await http.get(SUMMARY_PATH)
    if not response.is_success:
        raise BenchError(f"the review summary failed: {response.status_code} {response.text}")
    total = int(response.json()["all_time"]["total"])
    if total == 0:
        raise BenchError(f"game {BENCH_APP_ID} has no reviews: was the reviews data set loaded?")
    return total


async def uncached_reads(http: httpx.AsyncClient, path: str) -> list[float]:
    """Milliseconds of COLD_READS reads of `path` (for at most COLD_SECONDS), each right after a
    vote on one of the game's reviews, which drops the game's cached pages and summary. The
    votes alternate helpful / not helpful and the last is taken back: the data stays as loaded."""
    from lugx.bench.scenarios import _expect, signed_in

    player = await signed_in(http)
    newest = await _expect(
        http.get(f"{REVIEWS}/games/{BENCH_APP_ID}/reviews", params={"sort": "recent", "limit": 1}),
        "the newest review",
    )
    vote = f"{REVIEWS}/{newest.json()['items'][0]['id']}/votes/helpful"
    took: list[float] = []
    deadline = time.perf_counter() + COLD_SECONDS
    try:
        for turn in range(COLD_READS):
            await _expect(http.put(vote, json={"value": turn % 2 == 0}, headers=player), "vote")
            started = time.perf_counter()
            fresh = f"{path}{'&' if '?' in path else '?'}fresh={turn}"  # new to the edge cache
            await _expect(http.get(fresh), "read after a vote")
            took.append((time.perf_counter() - started) * 1000)
            if started > deadline:
                break
    finally:
        await _expect(http.delete(vote, headers=player), "take the vote back")
    return took
