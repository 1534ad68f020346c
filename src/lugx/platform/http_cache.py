"""HTTP caching for public reads: a strong ETag over the body, Cache-Control, 304 for a
matching If-None-Match, and a stored copy in the service's cache (memory or Redis) so a hot read
skips the database and the serialisation."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from lugx.platform.cache import Cache

JSON = "application/json"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates


def respond(request: Request, body: bytes, etag: str, cache_control: str) -> Response:
    headers = {"etag": etag, "cache-control": cache_control}
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)


def public_max_age(seconds: int) -> str:
    return f"public, max-age={max(0, seconds)}"


async def cached_json(
    request: Request,
    cache: Cache,
    key: str,
    build: Callable[[], Awaitable[tuple[bytes, int]]],
) -> Response:
    """Serve `key` from the cache, or `build()` it: (body, seconds it stays true). The stored copy
    lives as long as the body stays true, and so does the client's."""
    stored = await cache.get(key)
    if stored is not None:
        stored_etag, _, rest = stored.partition(b"\n")
        expires, _, stored_body = rest.partition(b"\n")
        left = int(float(expires) - time.time())
        if left > 0:
            return respond(request, stored_body, stored_etag.decode(), public_max_age(left))
    body, ttl = await build()
    etag = etag_of(body)
    if ttl > 0:
        until = str(time.time() + ttl).encode()
        await cache.set(key, b"\n".join((etag.encode(), until, body)), ttl=ttl)
    return respond(request, body, etag, public_max_age(ttl))
