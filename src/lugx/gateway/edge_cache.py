"""The edge cache: public reads answered by the gateway itself, without reaching a service.

A service opts a response in by answering an anonymous GET with 200, an `ETag` and
`Cache-Control: public, max-age=N` (N > 0; `s-maxage` wins when present). The gateway then keeps
(status, headers, body) under the request's path and query for min(N, the ceiling) and answers
the same request from memory: with `Age`, and with 304 when `If-None-Match` names the stored
ETag. A miss asks the service without the client's conditions (so there is a body to keep) and
answers `If-None-Match` itself, from the response's ETag, whether it keeps the response or not.
What it never stores or serves:

- requests with `Authorization` or `Cookie` (a signed-in view may differ from the public one);
- responses that are not 200, lack an ETag, carry `Set-Cookie` or `Vary`, or are `private`,
  `no-store` or `no-cache`.

The store is bounded in entries and in bytes; the least recently used entry goes first.

Staleness is bounded three ways:
1. **events**: the catalog's `Game...` events drop the game's pages (`/api/v1/catalog/games/{id}`
   and below) and every shelf, at once (`ResponseCache.on_event`). Dropping is idempotent, so the
   edge needs no inbox: a redelivered event drops nothing twice.
2. **writes through this gateway** (RFC 9111 section 4.4): a POST/PUT/PATCH/DELETE answered
   without an error drops the pages of its target (and of its `Location`) before the client
   sees the answer, so a publisher reads their own change at once, before its event arrives.
3. **the ceiling**: nothing is kept longer than `edge_cache_max_ttl_seconds`, whatever happens
   to events.

A miss that was in flight while its page was dropped is not stored (it may have read the old
state): every drop bumps a generation and remembers it per group (a game, the shelves, a path),
and a response is stored only if none of its groups was dropped since its request left.

Hits skip the rate limiter (they cost what a 429 would, and reach no service) but keep request
ids, the access log and metrics: the layer sits inside `RequestContext` (see app.py).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lugx.gateway.asgi import CLIENT, Header
from lugx.platform.events import Event, Transport
from lugx.platform.net import ClientAddress
from lugx.platform.settings import Settings

log = structlog.get_logger(__name__)

# The catalog's events that change what a game's pages or the shelves show. Each names the
# game in `payload.app_id`; `payload.related_app_ids`, when present, names other games whose
# pages show this one (a DLC's base game, bundles containing it).
EVENT_TYPES: tuple[str, ...] = (
    "GamePublished",
    "GameUpdated",
    "GameUnpublished",
    "GamePriceChanged",
    "GameDiscounted",
    "GameDiscountScheduled",
    "GameReviewSummaryChanged",
)
GAME_PATH = re.compile(r"/api/v1/catalog/games/(\d{1,18})(?:/|$)")
# A game's review summary (reviews service) is one of its pages too: `GameReviewSummaryChanged`
# drops it with the catalog's; posting a review through the gateway drops it at once.
REVIEWS_PATH = re.compile(r"/api/v1/reviews/games/(\d{1,18})/")
SHELVES_PATH = "/api/v1/catalog/shelves/"
# Suggestions show titles and prices of any game: like the shelves, every catalog event drops
# them (they are public for at most 30 s anyway).
SUGGEST_PATH = "/api/v1/catalog/suggest"
SHELVES_TAG = "catalog-shelves"

MAX_ENTRY_BYTES = 1024 * 1024
REMEMBERED_DROPS = 4096  # groups whose last drop is remembered, for misses still in flight
ENTRY_OVERHEAD_BYTES = 400  # the entry object, its key and header tuples, roughly

_PRIVATE_REQUEST = frozenset({b"authorization", b"cookie"})
_CONDITIONAL = frozenset({b"if-none-match", b"if-modified-since"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Never stored: recomputed per response, per hop, or set by the layers around this one.
_NOT_STORED = frozenset(
    {
        b"age",
        b"connection",
        b"content-length",
        b"date",
        b"keep-alive",
        b"server",
        b"transfer-encoding",
        b"x-cache",
        b"x-request-id",
    }
)
# What a 304 repeats of the 200 it stands for (RFC 9110 section 15.4.5).
_NOT_MODIFIED_KEPT = frozenset(
    {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary"}
)
_HIT = (b"x-cache", b"HIT")
_MISS = (b"x-cache", b"MISS")

LOOKUPS = Counter(
    "lugx_edge_cache_lookups_total",
    "Anonymous GET/HEAD requests the gateway's edge cache looked up",
    ["result"],  # hit, not_modified (a hit answered 304), miss
)
DROPS = Counter(
    "lugx_edge_cache_invalidations_total",
    "Entries the gateway's edge cache dropped before they expired",
    ["cause"],  # event, write
)
ENTRIES = Gauge("lugx_edge_cache_entries", "Responses held by the gateway's edge cache")
BYTES = Gauge("lugx_edge_cache_bytes", "Approximate bytes held by the gateway's edge cache")


def path_tag(path: str) -> str:
    return "path:" + path


def game_tag(app_id: int) -> str:
    return f"catalog-game:{app_id}"


def tags_of(path: str) -> tuple[str, ...]:
    """The groups a stored path belongs to: itself, and the catalog game (its pages, its review
    summary) or the shelves (and suggestions)."""
    match = GAME_PATH.match(path) or REVIEWS_PATH.match(path)
    if match is not None:
        return path_tag(path), game_tag(int(match[1]))
    if path.startswith((SHELVES_PATH, SUGGEST_PATH)):
        return path_tag(path), SHELVES_TAG
    return (path_tag(path),)


def written_tags(path: str) -> tuple[str, ...]:
    """What a successful write to `path` makes stale: the path, and for a catalog game its
    pages and every shelf (a price or a title shows on them)."""
    match = GAME_PATH.match(path)
    if match is not None:
        return path_tag(path), game_tag(int(match[1])), SHELVES_TAG
    match = REVIEWS_PATH.match(path)
    if match is not None:
        return path_tag(path), game_tag(int(match[1]))
    return (path_tag(path),)


def lifetime_of(cache_control: bytes) -> int | None:
    """Seconds a shared cache may keep a response with this Cache-Control, or None: only
    `public` responses with a positive `s-maxage` or `max-age`, and nothing private,
    `no-store` or `no-cache` (with or without field names)."""
    public = False
    max_age: int | None = None
    s_maxage: int | None = None
    for part in cache_control.split(b","):
        name, _, value = part.partition(b"=")
        name = name.strip().lower()
        if name in (b"private", b"no-store", b"no-cache"):
            return None
        if name == b"public":
            public = True
        elif name == b"max-age":
            max_age = _delta_seconds(value)
        elif name == b"s-maxage":
            s_maxage = _delta_seconds(value)
    lifetime = s_maxage if s_maxage is not None else max_age
    if not public or lifetime is None or lifetime <= 0:
        return None
    return lifetime


def _delta_seconds(value: bytes) -> int | None:
    text = value.strip().strip(b'"')
    return int(text) if text.isdigit() else None


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 section 13.1.2)."""
    if if_none_match.strip() == b"*":
        return True
    opaque = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == opaque for tag in if_none_match.split(b","))


class Entry:
    __slots__ = ("body", "etag", "expires_at", "head", "not_modified", "size", "stored_at", "tags")

    def __init__(
        self,
        *,
        headers: list[Header],
        body: bytes,
        etag: bytes,
        stored_at: float,
        expires_at: float,
        tags: tuple[str, ...],
    ) -> None:
        self.body = body
        self.etag = etag
        self.stored_at = stored_at
        self.expires_at = expires_at
        self.tags = tags
        self.head = [*headers, (b"content-length", str(len(body)).encode())]
        self.not_modified = [h for h in headers if h[0] in _NOT_MODIFIED_KEPT]
        self.size = len(body) + sum(len(k) + len(v) for k, v in headers) + ENTRY_OVERHEAD_BYTES

    def age(self, now: float) -> Header:
        return (b"age", str(int(now - self.stored_at)).encode())


class Admission:
    """What a response start said about storing it (worked out once, on a miss)."""

    __slots__ = ("etag", "headers", "lifetime")

    def __init__(self, headers: list[Header], etag: bytes, lifetime: float) -> None:
        self.headers = headers
        self.etag = etag
        self.lifetime = lifetime


class ResponseCache:
    """The store: a bounded LRU of responses with a tag index for invalidation. Built before
    the gateway (its event subscription must exist before the transport starts)."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        max_ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_ttl_seconds = max_ttl_seconds
        self.max_entry_bytes = min(MAX_ENTRY_BYTES, max_bytes)
        self.clock = clock
        self.enabled = max_entries > 0 and max_bytes > 0 and max_ttl_seconds > 0
        # Bumped by every drop. A miss notes it when it leaves, and stores its response only if
        # none of its groups was dropped since (`_dropped`: group -> generation of its last drop;
        # the oldest are forgotten, and a miss older than what was forgotten stores nothing).
        self.generation = 0
        self._dropped: OrderedDict[str, int] = OrderedDict()
        self._forgotten = 0
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._tags: dict[str, set[bytes]] = {}
        self._bytes = 0
        ENTRIES.set_function(lambda: len(self._entries))
        BYTES.set_function(lambda: self._bytes)

    @classmethod
    def from_settings(cls, settings: Settings) -> ResponseCache:
        return cls(
            max_entries=settings.edge_cache_max_entries,
            max_bytes=settings.edge_cache_max_bytes,
            max_ttl_seconds=settings.edge_cache_max_ttl_seconds,
        )

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __contains__(self, key: bytes) -> bool:
        return key in self._entries

    def stored_keys(self) -> list[bytes]:
        """Stored keys (path and query), least recently used first."""
        return list(self._entries)

    # -- reading and storing ---------------------------------------------------------------

    def get(self, key: bytes, now: float) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= now:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def admit(self, status: int, headers: Iterable[Header]) -> Admission | None:
        """Whether a response to an anonymous GET may be stored, from its start."""
        if status != 200:
            return None
        kept: list[Header] = []
        etag: bytes | None = None
        lifetime: int | None = None
        upstream_age = 0
        for name, value in headers:
            name = name.lower()
            if name == b"set-cookie" or name == b"vary":
                return None
            if name == b"cache-control":
                lifetime = lifetime_of(value)
                if lifetime is None:
                    return None
            elif name == b"etag":
                etag = value
            elif name == b"age":
                upstream_age = int(value) if value.strip().isdigit() else 0
            if name not in _NOT_STORED:
                kept.append((name, value))
        if etag is None or lifetime is None:
            return None
        seconds = min(float(lifetime), self.max_ttl_seconds) - upstream_age
        return Admission(kept, etag, seconds) if seconds > 0 else None

    def put(
        self,
        key: bytes,
        path: str,
        admission: Admission,
        body: bytes,
        *,
        stored_at: float,
        asked_at: int,
    ) -> Entry | None:
        """Store a response whose request left at generation `asked_at`, unless something it
        shows was dropped meanwhile (it may predate the change) or it is too big."""
        tags = tags_of(path)
        if not self.enabled or self._dropped_since(tags, asked_at):
            return None
        entry = Entry(
            headers=admission.headers,
            body=body,
            etag=admission.etag,
            stored_at=stored_at,
            expires_at=stored_at + admission.lifetime,
            tags=tags,
        )
        if entry.size > self.max_entry_bytes:
            return None
        if key in self._entries:
            self._remove(key)
        self._entries[key] = entry
        self._bytes += entry.size
        for tag in entry.tags:
            self._tags.setdefault(tag, set()).add(key)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))
        return entry

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size
        for tag in entry.tags:
            keys = self._tags.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tags[tag]

    # -- dropping ----------------------------------------------------------------------------

    def invalidate(self, tags: Iterable[str], *, cause: str) -> int:
        """Drop every entry under any of `tags`; returns how many went."""
        self.generation += 1
        keys: set[bytes] = set()
        for tag in tags:
            keys.update(self._tags.get(tag, ()))
            self._dropped[tag] = self.generation
            self._dropped.move_to_end(tag)
        while len(self._dropped) > REMEMBERED_DROPS:
            _, forgotten = self._dropped.popitem(last=False)
            self._forgotten = max(self._forgotten, forgotten)
        for key in keys:
            self._remove(key)
        if keys:
            DROPS.labels(cause).inc(len(keys))
        return len(keys)

    def _dropped_since(self, tags: Iterable[str], generation: int) -> bool:
        if generation < self._forgotten:
            return True  # a drop it should know of may have been forgotten: assume the worst
        return any(self._dropped.get(tag, -1) > generation for tag in tags)

    def clear(self) -> None:
        self.generation += 1
        self._forgotten = self.generation  # everything was dropped
        self._dropped.clear()
        self._entries.clear()
        self._tags.clear()
        self._bytes = 0

    def disable(self) -> None:
        """Stop caching (nothing could tell this cache of changes any more)."""
        self.enabled = False
        self.clear()

    # -- events ------------------------------------------------------------------------------

    def subscribe(self, transport: Transport, consumer: str) -> None:
        """Listen to the catalog's events. Before the transport starts, like every consumer."""
        transport.subscribe(consumer, EVENT_TYPES, self.on_event)

    async def listen(self, transport: Transport) -> bool:
        """Start `transport` for this cache alone (the distributed gateway, which has no other
        use for one). If it cannot start, the cache turns itself off and the gateway serves
        uncached: a cache that no change can reach would serve stale prices."""
        try:
            await transport.start()
        except Exception:
            log.exception("edge cache off: the broker is unreachable, so changes cannot reach it")
            self.disable()
            return False
        return True

    async def on_event(self, event: Event) -> None:
        """Drop the game's pages (and related games') and every shelf. Never raises: a drop
        cannot fail, and an event it cannot read clears the whole cache instead."""
        app_ids = _app_ids(event.payload)
        if app_ids is None:
            log.warning(
                "edge cache: an event without a readable app_id; dropping everything",
                event_type=event.type,
                event_id=str(event.id),
            )
            self.clear()
            return
        self.invalidate([SHELVES_TAG, *(game_tag(app_id) for app_id in app_ids)], cause="event")


def _app_ids(payload: dict[str, Any]) -> list[int] | None:
    app_id = _as_app_id(payload.get("app_id"))
    if app_id is None:
        return None
    related = payload.get("related_app_ids")
    extra = [_as_app_id(value) for value in related] if isinstance(related, list) else []
    return [app_id, *(value for value in extra if value is not None)]


def _as_app_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def edge_cache_for(settings: Settings, transport: Transport) -> ResponseCache | None:
    """The edge cache the settings ask for, listening to `transport` (not started yet); None
    when the settings turn it off."""
    cache = ResponseCache.from_settings(settings)
    if not cache.enabled:
        return None
    cache.subscribe(transport, settings.edge_cache_consumer)
    return cache


class EdgeCache:
    """The ASGI layer in front of the services (inside the gateway's request context)."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, client_address: ClientAddress) -> None:
        self.app = app
        self.cache = cache
        self._client_address = client_address
        self._hits = LOOKUPS.labels("hit")
        self._not_modified = LOOKUPS.labels("not_modified")
        self._misses = LOOKUPS.labels("miss")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            if method in _SAFE_METHODS:
                await self.app(scope, receive, send)
            else:
                await self.app(scope, receive, self._invalidating(scope, send))
            return
        cache = self.cache
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name in _PRIVATE_REQUEST:
                await self.app(scope, receive, send)
                return
            if name == b"if-none-match":
                if_none_match = value
        if not cache.enabled:
            await self.app(scope, receive, send)
            return
        query: bytes = scope["query_string"]
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        key = raw + b"?" + query if query else raw
        now = cache.clock()
        entry = cache.get(key, now)
        if entry is not None:
            scope[CLIENT] = self._client_address(scope)  # for the access log; the guard is skipped
            await self._serve(entry, method, if_none_match, now, send)
            return
        self._misses.inc()
        if method == "HEAD":  # nothing to store from a response without a body
            await self.app(scope, receive, send)
            return
        await self._fetch(scope, receive, send, key, if_none_match)

    async def _serve(
        self, entry: Entry, method: str, if_none_match: bytes | None, now: float, send: Send
    ) -> None:
        if if_none_match is not None and etag_matches(if_none_match, entry.etag):
            self._not_modified.inc()
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [*entry.not_modified, entry.age(now), _HIT],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        self._hits.inc()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*entry.head, entry.age(now), _HIT],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else entry.body})

    async def _fetch(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, if_none_match: bytes | None
    ) -> None:
        """A miss: ask the service for the whole response (without the client's conditions, so
        there is a body to keep), store it if allowed, and answer the client's condition here,
        whether the response is kept or not (the service never saw the condition)."""
        cache = self.cache
        asked_at = cache.generation
        if if_none_match is not None:
            scope["headers"] = [h for h in scope["headers"] if h[0] not in _CONDITIONAL]
        admission: Admission | None = None
        chunks: list[bytes] = []
        size = 0
        swallow = False  # the client gets a 304: the body is kept (or dropped), not sent

        async def capture(message: Message) -> None:
            nonlocal admission, size, swallow
            if message["type"] == "http.response.start":
                status, headers = message["status"], message.get("headers", [])
                admission = cache.admit(status, headers)
                not_modified = (
                    None
                    if if_none_match is None
                    else _not_modified(status, headers, admission, if_none_match)
                )
                if not_modified is not None:
                    swallow = True
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 304,
                            "headers": [*not_modified, _MISS],
                        }
                    )
                    return
                message["headers"] = [*headers, _MISS]
                await send(message)
                return
            more = message.get("more_body", False)
            if admission is not None:
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > cache.max_entry_bytes:
                    admission = None  # too big to keep: passed through only
                    chunks.clear()
                else:
                    chunks.append(chunk)
            if not swallow:
                await send(message)
            elif not more:
                await send({"type": "http.response.body", "body": b""})
            if not more and admission is not None:
                body = b"".join(chunks)
                cache.put(
                    key, scope["path"], admission, body, stored_at=cache.clock(), asked_at=asked_at
                )

        await self.app(scope, receive, capture)

    def _invalidating(self, scope: Scope, send: Send) -> Send:
        """A write answered without an error drops what it made stale before the client hears
        of it, so the writer's next read is fresh (RFC 9111 section 4.4)."""
        cache = self.cache

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                tags = list(written_tags(scope["path"]))
                for name, value in message.get("headers", ()):
                    if name.lower() == b"location":
                        tags.extend(_location_tags(value))
                cache.invalidate(tags, cause="write")
            await send(message)

        return wrapped


def _not_modified(
    status: int, headers: list[Header], admission: Admission | None, if_none_match: bytes
) -> list[Header] | None:
    """The headers of the 304 that answers the client's If-None-Match in place of this response
    (the service answered without it), or None when the client must get the response: only a
    200 whose ETag the condition names. A response that is not kept keeps its cookies too."""
    if admission is not None:
        if not etag_matches(if_none_match, admission.etag):
            return None
        return [h for h in admission.headers if h[0] in _NOT_MODIFIED_KEPT]
    if status != 200:
        return None  # RFC 9110 section 13.2.1: conditions are for what would have been a 2xx
    etag = next((value for name, value in headers if name.lower() == b"etag"), None)
    if not etag or not etag_matches(if_none_match, etag):
        return None
    return [
        h for h in headers if h[0].lower() in _NOT_MODIFIED_KEPT or h[0].lower() == b"set-cookie"
    ]


def _location_tags(value: bytes) -> tuple[str, ...]:
    location = value.decode("latin-1").partition("?")[0]
    if not location.startswith("/") or location.startswith("//"):
        return ()  # another origin's, or not a path: nothing stored here is under it
    return written_tags(location)
