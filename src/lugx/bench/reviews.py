"""The reviews service's benchmark scenarios (issue 5): one game with 100,000 reviews and
1,000,000 votes, loaded by `lugx.services.reviews.seed.load_bench` (for the CLI: `lugx seed
--reviews 100000 --votes 1000000`, game `BENCH_APP_ID`), then:

- `reviews-helpful`: the first page of the game's reviews, most helpful first, 16 connections,
  p99 <= 20 ms: one backward range of ix_reviews_helpful, 20 rows.
- `reviews-summary`: the game's summary, 16 connections, p99 <= 5 ms: the summary row and at
  most 30 day rows, kept in the service's cache for a minute or until the next change.

Neither answer is marked shareable, so the gateway's edge cache never answers them: every
request reaches the reviews service. Add them to `SCENARIOS` with `data="reviews"` once the
runner seeds that data set (`seed_argv` is the command).
"""

from __future__ import annotations

import httpx

from lugx.bench.scenarios import Request, Scenario
from lugx.bench.server import BenchError
from lugx.services.reviews.seed import BENCH_APP_ID

REVIEWS = "/api/v1/reviews"
BENCH_REVIEWS = 100_000
BENCH_VOTES = 1_000_000
CONNECTIONS = 16


def seed_argv(reviews: int = BENCH_REVIEWS, votes: int = BENCH_VOTES) -> list[str]:
    """The `lugx` arguments that load the data set (after `lugx seed --games N`)."""
    return ["seed", "--reviews", str(reviews), "--votes", str(votes)]


async def _loaded(http: httpx.AsyncClient) -> int:
    response = await http.get(f"{REVIEWS}/games/{BENCH_APP_ID}/summary")
    if not response.is_success:
        raise BenchError(f"the review summary failed: {response.status_code} {response.text}")
    total = int(response.json()["all_time"]["total"])
    if total == 0:
        raise BenchError(f"game {BENCH_APP_ID} has no reviews: was the reviews data set loaded?")
    return total


async def reviews_helpful(http: httpx.AsyncClient) -> Request:
    total = await _loaded(http)
    path = f"{REVIEWS}/games/{BENCH_APP_ID}/reviews?sort=helpful"
    first = await http.get(path)
    if not first.is_success or not first.json()["items"]:
        raise BenchError(f"{path} returned no reviews: {first.status_code} {first.text[:300]}")
    if first.headers.get("x-cache") == "HIT":
        raise BenchError(f"{path} was answered by the edge cache; it must reach the service")
    return Request("GET", path, note=f"game {BENCH_APP_ID}: {total:,} reviews")


async def reviews_summary(http: httpx.AsyncClient) -> Request:
    total = await _loaded(http)
    return Request(
        "GET", f"{REVIEWS}/games/{BENCH_APP_ID}/summary", note=f"{total:,} reviews summarised"
    )


REVIEW_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "reviews-helpful",
        f"GET {REVIEWS}/games/{{app_id}}/reviews?sort=helpful, 100k reviews, 1M votes",
        "embedded",
        reviews_helpful,
        target_p99_ms=20,
        connections=CONNECTIONS,
        data="reviews",
        requires="reviews",
    ),
    Scenario(
        "reviews-summary",
        f"GET {REVIEWS}/games/{{app_id}}/summary, 100k reviews",
        "embedded",
        reviews_summary,
        target_p99_ms=5,
        connections=CONNECTIONS,
        data="reviews",
        requires="reviews",
    ),
)
