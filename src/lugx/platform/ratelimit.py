"""Fixed-window rate limiting over the cache's counters: the same rule in memory and in Redis."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lugx.platform.cache import Cache


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int


class RateLimiter:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def hit(self, key: str, *, limit: int, window_seconds: float) -> Verdict:
        count, remaining = await self._cache.incr(f"rl:{key}", window_seconds)
        return Verdict(
            allowed=count <= limit,
            count=count,
            limit=limit,
            retry_after=max(1, math.ceil(remaining)),
        )
