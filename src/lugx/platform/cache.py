"""A small key-value cache with expiry: in memory (embedded) or Redis (distributed).

Used for hot reads, revoked sessions, rate-limit and failed-login counters. The interface is the
handful of operations those need, so both adapters behave the same and are tested the same.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Each key's value, in order (None where there is none): one round trip to Redis."""
        ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str, ttl: float) -> tuple[int, float]:
        """Add one to a counter whose window starts at its first hit and lasts `ttl` seconds.
        Returns the new count and the seconds left in the window."""
        ...

    async def counter(self, key: str) -> tuple[int, float]:
        """The current count of a counter and the seconds left in its window, without a hit."""
        ...

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCache:
    """LRU with per-key expiry, one process only by design. With `max_entries=None` nothing is
    ever evicted before it expires (for data that must not be forgotten early, such as revoked
    sessions); expired entries are swept as it grows."""

    def __init__(self, max_entries: int | None = 100_000) -> None:
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._counters: dict[str, tuple[int, float]] = {}
        self._max = max_entries
        self._sweep_at = 10_000

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)
        self._data.move_to_end(key)
        if self._max is None:
            if len(self._data) > self._sweep_at:
                self._sweep()
            return
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def _sweep(self) -> None:
        now = time.monotonic()
        for stale in [k for k, (_, expires) in self._data.items() if expires and expires <= now]:
            del self._data[stale]
        self._sweep_at = max(10_000, len(self._data) * 2)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)
            self._counters.pop(key, None)

    async def incr(self, key: str, ttl: float) -> tuple[int, float]:
        now = time.monotonic()
        count, expires = self._counters.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + ttl
            if len(self._counters) > (self._max or self._sweep_at):
                self._evict_expired_counters(now)
        count += 1
        self._counters[key] = (count, expires)
        return count, expires - now

    async def counter(self, key: str) -> tuple[int, float]:
        now = time.monotonic()
        count, expires = self._counters.get(key, (0, 0.0))
        return (count, expires - now) if expires > now else (0, 0.0)

    def _evict_expired_counters(self, now: float) -> None:
        for stale in [k for k, (_, exp) in self._counters.items() if exp <= now]:
            del self._counters[stale]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
        self._counters.clear()


# A process's connections to Redis, at most; past them an operation waits its turn (up to
# REDIS_POOL_WAIT_SECONDS) instead of failing. redis-py's own pool refuses at once past 100
# ("Too many connections"): fifty checkouts at once, each checking its token, counting its rate
# and reading the catalog's cache, were refused that way with a 503.
REDIS_POOL_SIZE = 100
REDIS_POOL_WAIT_SECONDS = 10.0


class RedisCache:
    def __init__(self, url: str, *, prefix: str = "lugx:") -> None:
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT_SECONDS
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values = await self._redis.mget([self._prefix + key for key in keys])
        return [value.encode() if isinstance(value, str) else value for value in values]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._redis.set(self._prefix + key, value, px=int(ttl * 1000) if ttl else None)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + k for k in keys))

    async def incr(self, key: str, ttl: float) -> tuple[int, float]:
        full = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.pexpire(full, int(ttl * 1000), nx=True)
            pipe.pttl(full)
            count, _, pttl = await pipe.execute()
        return int(count), max(float(pttl), 0.0) / 1000

    async def counter(self, key: str) -> tuple[int, float]:
        full = self._prefix + key
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(full)
            pipe.pttl(full)
            count, pttl = await pipe.execute()
        if count is None or pttl <= 0:
            return 0, 0.0
        return int(count), float(pttl) / 1000

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(redis_url: str | None, *, prefix: str = "lugx:") -> Cache:
    return RedisCache(redis_url, prefix=prefix) if redis_url else MemoryCache()
