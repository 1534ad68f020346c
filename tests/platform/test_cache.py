"""Both cache adapters pass the same tests (Redis when LUGX_TEST_REDIS_URL is set)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from lugx.platform.cache import REDIS_POOL_SIZE, Cache, MemoryCache, RedisCache
from lugx.platform.ratelimit import RateLimiter
from tests.conftest import TEST_REDIS_URL

ADAPTERS = [
    "memory",
    pytest.param(
        "redis", marks=pytest.mark.skipif(not TEST_REDIS_URL, reason="LUGX_TEST_REDIS_URL not set")
    ),
]


@pytest.fixture(params=ADAPTERS)
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    adapter: Cache
    if request.param == "memory":
        adapter = MemoryCache()
    else:
        assert TEST_REDIS_URL
        adapter = RedisCache(TEST_REDIS_URL, prefix=f"lugx-test:{uuid.uuid4().hex}:")
    yield adapter
    await adapter.close()


async def test_set_get_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_many_values_at_once_in_order(cache: Cache) -> None:
    await cache.set("a", b"1")
    await cache.set("c", b"3")
    assert await cache.get_many(["a", "b", "c", "a"]) == [b"1", None, b"3", b"1"]
    assert await cache.get_many([]) == []


async def test_values_expire(cache: Cache) -> None:
    await cache.set("short", b"1", ttl=0.05)
    await cache.set("long", b"1", ttl=10)
    await asyncio.sleep(0.1)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"1"


async def test_counters_count_within_a_window_then_reset(cache: Cache) -> None:
    assert await cache.counter("c") == (0, 0.0)
    counts = [(await cache.incr("c", 0.2))[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    count, left = await cache.counter("c")
    assert count == 3
    assert 0 < left <= 0.2
    await asyncio.sleep(0.25)
    assert (await cache.incr("c", 0.2))[0] == 1


async def test_rate_limiter_allows_the_limit_then_refuses(cache: Cache) -> None:
    limiter = RateLimiter(cache)
    verdicts = [await limiter.hit("client", limit=3, window_seconds=60) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[-1].retry_after >= 59


async def test_more_operations_at_once_than_connections_all_succeed(cache: Cache) -> None:
    """Past its pool's size, Redis work waits for a connection rather than failing."""
    await cache.set("k", b"v")
    many = 3 * REDIS_POOL_SIZE
    values = await asyncio.gather(*(cache.get("k") for _ in range(many)))
    assert values == [b"v"] * many


async def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(max_entries=3)
    for n in range(5):
        await cache.set(f"k{n}", b"x")
    assert await cache.get("k0") is None
    assert await cache.get("k4") == b"x"
