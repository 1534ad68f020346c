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
game page); the service keeps it (60 s) until the game's counts change. What a read costs when
no cache can answer is measured first and printed under the table: a bench player who owns the
game flips their own review (a change to the counts, so the service drops both the summary and
the first pages), then the read goes out with a query string the edge has never seen (the
service keys neither cache on it), one at a time. A vote would not do: it leaves the summary
cached.
"""

from __future__ import annotations

import asyncio
import time
import uuid
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
# After each change, before its read: the change's events (the summary to the catalog and the
# edge) are delivered in the same process, and would otherwise be timed with the read.
SETTLE_SECONDS = 0.05
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
        "repeats until the game's summary event drops it (the service keeps it until its "
        "counts change)",
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
            f"change to its counts, past every cache (the database answers), one at a time: "
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
    flip of the bench player's own review of the game, which moves the game's counts: the
    service drops its cached summary and first pages. The review is deleted afterwards: the
    game's reviews and counts are back as loaded."""
    from lugx.bench.scenarios import _expect, signed_in

    player = await signed_in(http)
    await _own(http, player)
    review = await _expect(
        http.post(
            f"{REVIEWS}/games/{BENCH_APP_ID}/reviews",
            json={"recommended": True, "body": "Benchmark review, deleted when the bench ends."},
            headers=player,
        ),
        "post the bench player's review",
    )
    mine = f"{REVIEWS}/{review.json()['id']}"
    took: list[float] = []
    deadline = time.perf_counter() + COLD_SECONDS
    try:
        for turn in range(COLD_READS):
            flip = {"recommended": turn % 2 == 1}
            await _expect(http.patch(mine, json=flip, headers=player), "flip the review")
            await asyncio.sleep(SETTLE_SECONDS)  # its events delivered: the read alone is timed
            started = time.perf_counter()
            fresh = f"{path}{'&' if '?' in path else '?'}fresh={turn}"  # new to the edge cache
            read = await _expect(http.get(fresh), "read after a change")
            took.append((time.perf_counter() - started) * 1000)
            if read.headers.get("x-cache") == "HIT":
                raise BenchError(f"{fresh} was answered by the edge cache after a change")
            if started > deadline:
                break
    finally:
        await _expect(http.delete(mine, headers=player), "delete the bench player's review")
    return took


async def _own(http: httpx.AsyncClient, player: dict[str, str]) -> None:
    """The bench game in the player's library: claimed when free, else bought by card."""
    from lugx.bench.flows import CART, CHECKOUT, SANDBOX_CARD
    from lugx.bench.scenarios import _expect

    game = await _expect(http.get(f"/api/v1/catalog/games/{BENCH_APP_ID}"), "the bench game")
    if game.json()["final_price"]["amount"] == 0:
        claim = f"/api/v1/purchases/library/{BENCH_APP_ID}/claim"
        await _expect(http.post(claim, headers=player), "claim the bench game")
        return
    await _expect(http.post(CART, json={"app_id": BENCH_APP_ID}, headers=player), "add to cart")
    paid = await _expect(
        http.post(
            CHECKOUT,
            json={"payment_method": "card", "card": SANDBOX_CARD},
            headers={**player, "Idempotency-Key": uuid.uuid4().hex},
        ),
        "buy the bench game",
    )
    if paid.json().get("status") not in ("paid", "completed"):
        raise BenchError(f"buying the bench game left the order {paid.json().get('status')!r}")
