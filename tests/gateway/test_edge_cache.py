"""The gateway's edge cache: public reads answered from memory, never a private one, bounded,
expired, and dropped by catalog events and by writes that pass through the gateway."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.responses import Response
from starlette.types import ASGIApp
from structlog.testing import capture_logs

from lugx.gateway import create_gateway, distributed_gateway
from lugx.gateway.edge_cache import (
    EVENT_TYPES,
    REMEMBERED_DROPS,
    ResponseCache,
    edge_cache_for,
    lifetime_of,
)
from lugx.platform.auth import TokenIssuer
from lugx.platform.bootstrap import Platform, Wiring, build_wiring
from lugx.platform.events import Event, Transport
from lugx.platform.settings import Settings
from lugx.services import SERVICE_MODULES, available
from tests.conftest import TEST_BROKER_URL, stop_emptied
from tests.conftest import test_settings as settings_for
from tests.gateway.conftest import CLIENT_IP, client_for, issue

GAME = "/api/v1/catalog/games"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Upstream:
    """A catalog stand-in: each game has a version that writes bump; `calls` counts reads."""

    versions: dict[int, int] = field(default_factory=dict)
    calls: int = 0
    gate: asyncio.Event | None = None  # when set, reads wait for it (a miss kept in flight)

    def body(self, app_id: int) -> bytes:
        return orjson.dumps({"app_id": app_id, "version": self.versions.get(app_id, 1)})


# Response shapes the cache must refuse, by `?variant=`: (Cache-Control, extra headers, status).
REFUSED: dict[str, tuple[str | None, dict[str, str], int]] = {
    "private": ("private, max-age=60", {}, 200),
    "no-store": ("public, no-store, max-age=60", {}, 200),
    "no-cache": ('public, no-cache="set-cookie", max-age=60', {}, 200),
    "zero": ("public, max-age=0", {}, 200),
    "not-public": ("max-age=60", {}, 200),
    "no-cache-control": (None, {}, 200),
    "set-cookie": ("public, max-age=60", {"set-cookie": "session=one-client"}, 200),
    "vary": ("public, max-age=60", {"vary": "accept-language"}, 200),
    "no-etag": ("public, max-age=60", {"etag": ""}, 200),
    "not-found": ("public, max-age=60", {}, 404),
    "accepted": ("public, max-age=60", {}, 203),
}


def upstream_app(state: Upstream) -> FastAPI:
    app = FastAPI()

    def answer(
        body: bytes, cache_control: str | None, extra: dict[str, str] | None = None
    ) -> Response:
        headers = {"etag": f'"{abs(hash(body))}"', **(extra or {})}
        if cache_control is not None:
            headers["cache-control"] = cache_control
        return Response(
            body, media_type="application/json", headers={k: v for k, v in headers.items() if v}
        )

    @app.get(GAME + "/{app_id}")
    async def game(app_id: int, variant: str | None = None) -> Response:
        state.calls += 1
        if state.gate is not None:
            await state.gate.wait()
        cache_control, extra, status = REFUSED.get(variant or "", ("public, max-age=60", {}, 200))
        response = answer(state.body(app_id), cache_control, extra)
        response.status_code = status
        return response

    @app.get(GAME + "/{app_id}/price")
    async def price(app_id: int) -> Response:
        state.calls += 1
        return answer(state.body(app_id), "public, s-maxage=30, max-age=5")

    @app.patch(GAME + "/{app_id}")
    async def update(app_id: int, fail: bool = False) -> Response:
        if fail:
            return Response(b'{"detail": "conflict"}', status_code=409)
        state.versions[app_id] = state.versions.get(app_id, 1) + 1
        return Response(state.body(app_id))

    @app.get("/api/v1/catalog/shelves/{name:path}")
    async def shelf(name: str) -> Response:
        state.calls += 1
        return answer(
            orjson.dumps({"shelf": name, "v": sorted(state.versions.items())}), "public, max-age=30"
        )

    @app.get("/api/v1/catalog/suggest")
    async def suggest(q: str) -> Response:
        state.calls += 1
        return answer(orjson.dumps({"q": q}), "public, max-age=30")

    @app.get("/api/v1/catalog/big")
    async def big() -> Response:
        state.calls += 1
        return answer(b"x" * 5000, "public, max-age=60")

    @app.get("/api/v1/catalog/plain")
    async def plain() -> dict[str, int]:
        state.calls += 1
        return {"calls": state.calls}

    return app


@pytest.fixture
def state() -> Upstream:
    return Upstream()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def edge(clock: Clock) -> ResponseCache:
    return ResponseCache(max_entries=100, max_bytes=1_000_000, max_ttl_seconds=60, clock=clock)


def edge_gateway(wiring: Wiring, state: Upstream, edge: ResponseCache) -> ASGIApp:
    return create_gateway(wiring, {"catalog": upstream_app(state)}, edge_cache=edge)


@pytest.fixture
async def client(
    wiring: Wiring, state: Upstream, edge: ResponseCache
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(edge_gateway(wiring, state, edge)) as http:
        yield http


# -- hits, misses, 304 -------------------------------------------------------------------------


async def test_a_public_read_is_answered_by_the_edge_after_the_first(
    client: httpx.AsyncClient, state: Upstream, clock: Clock
) -> None:
    first = await client.get(f"{GAME}/7")
    clock.now += 12.4
    second = await client.get(f"{GAME}/7")

    assert state.calls == 1
    assert first.headers["x-cache"] == "MISS"
    assert "age" not in first.headers
    assert second.status_code == 200
    assert second.headers["x-cache"] == "HIT"
    assert second.headers["age"] == "12"
    assert second.content == first.content == state.body(7)
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["cache-control"] == "public, max-age=60"
    assert second.headers["content-length"] == str(len(first.content))
    assert second.headers["content-type"] == first.headers["content-type"]
    # Every answer has its own request id, hits included; and each header appears once.
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert second.headers.get_list("x-request-id") == [second.headers["x-request-id"]]
    assert second.headers.get_list("content-length") == [second.headers["content-length"]]


async def test_path_and_query_are_the_key(client: httpx.AsyncClient, state: Upstream) -> None:
    for path in (f"{GAME}/7", f"{GAME}/7?currency=EUR", f"{GAME}/8", f"{GAME}/7/price"):
        await client.get(path)
        await client.get(path)
    assert state.calls == 4


async def test_a_hit_keeps_the_request_id_the_client_sent(client: httpx.AsyncClient) -> None:
    await client.get(f"{GAME}/7")
    hit = await client.get(f"{GAME}/7", headers={"x-request-id": "trace-0123456789"})
    assert hit.headers["x-cache"] == "HIT"
    assert hit.headers["x-request-id"] == "trace-0123456789"


async def test_if_none_match_is_answered_304_from_the_stored_etag(
    client: httpx.AsyncClient, state: Upstream
) -> None:
    etag = (await client.get(f"{GAME}/7")).headers["etag"]
    for condition in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(f"{GAME}/7", headers={"if-none-match": condition})
        assert response.status_code == 304, condition
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=60"
        assert "age" in response.headers
    changed = await client.get(f"{GAME}/7", headers={"if-none-match": '"stale"'})
    assert changed.status_code == 200
    assert changed.content == state.body(7)
    assert state.calls == 1


async def test_a_conditional_miss_is_stored_and_answered_304(
    client: httpx.AsyncClient, state: Upstream
) -> None:
    etag = (await client.get(f"{GAME}/7")).headers["etag"]
    await client.patch(f"{GAME}/7")  # dropped, and the service's copy changed
    await client.patch(f"{GAME}/7?fail=1")
    state.versions[7] = 1  # back to the first version: the client's copy is current again

    response = await client.get(f"{GAME}/7", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.headers["x-cache"] == "MISS"
    assert state.calls == 2
    hit = await client.get(f"{GAME}/7")  # the service was asked for the whole body: kept
    assert hit.headers["x-cache"] == "HIT"
    assert hit.content == state.body(7)
    assert state.calls == 2


@pytest.mark.parametrize("variant", ["private", "no-store", "zero", "set-cookie", "vary"])
async def test_a_response_it_does_not_keep_still_answers_if_none_match(
    client: httpx.AsyncClient, state: Upstream, edge: ResponseCache, variant: str
) -> None:
    """The edge takes the client's condition off every anonymous miss (to get a body it might
    keep), so it answers the condition itself even when the response is not one to keep. The
    stand-in service never answers 304 itself: a 304 here is the edge's."""
    path = f"{GAME}/7?variant={variant}"
    first = await client.get(path)
    client.cookies.clear()  # anonymous again, whatever the response set
    etag = first.headers["etag"]

    response = await client.get(path, headers={"if-none-match": etag})
    client.cookies.clear()
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["x-cache"] == "MISS"
    assert response.headers["cache-control"] == first.headers["cache-control"]
    assert response.headers.get("set-cookie") == first.headers.get("set-cookie")
    assert response.headers.get("vary") == first.headers.get("vary")
    assert "content-type" not in response.headers
    changed = await client.get(path, headers={"if-none-match": '"another"'})
    assert changed.status_code == 200
    assert changed.content == state.body(7)
    assert state.calls == 3
    assert len(edge) == 0


async def test_only_a_200_is_answered_304_on_a_miss(
    client: httpx.AsyncClient, state: Upstream
) -> None:
    missing = await client.get(f"{GAME}/7?variant=not-found")
    assert missing.status_code == 404
    again = await client.get(
        f"{GAME}/7?variant=not-found", headers={"if-none-match": missing.headers["etag"]}
    )
    assert again.status_code == 404
    assert again.content == state.body(7)
    untagged = await client.get(f"{GAME}/7?variant=no-etag", headers={"if-none-match": "*"})
    assert untagged.status_code == 200
    assert untagged.content == state.body(7)


async def test_head_is_answered_from_a_stored_get(
    client: httpx.AsyncClient, state: Upstream
) -> None:
    body = (await client.get(f"{GAME}/7")).content
    response = await client.head(f"{GAME}/7")
    assert response.status_code == 200
    assert response.headers["x-cache"] == "HIT"
    assert response.headers["content-length"] == str(len(body))
    assert response.content == b""
    assert state.calls == 1


# -- what is never cached --------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(REFUSED))
async def test_responses_not_marked_public_and_shareable_are_not_kept(
    client: httpx.AsyncClient, state: Upstream, edge: ResponseCache, variant: str
) -> None:
    for _ in range(2):
        response = await client.get(f"{GAME}/7?variant={variant}")
        client.cookies.clear()  # anonymous again, whatever the response set
        assert response.headers["x-cache"] == "MISS"
        assert "age" not in response.headers
    assert state.calls == 2
    assert len(edge) == 0


async def test_a_response_without_any_caching_headers_is_not_kept(
    client: httpx.AsyncClient, state: Upstream
) -> None:
    assert (await client.get("/api/v1/catalog/plain")).json() == {"calls": 1}
    assert (await client.get("/api/v1/catalog/plain")).json() == {"calls": 2}


@pytest.mark.parametrize("private", ["cookie", "authorization"])
async def test_requests_with_credentials_neither_read_nor_fill_the_cache(
    client: httpx.AsyncClient, state: Upstream, issuer: TokenIssuer, private: str
) -> None:
    headers = (
        {"cookie": "session=abc"}
        if private == "cookie"
        else {"authorization": f"Bearer {issue(issuer)}"}
    )
    first = await client.get(f"{GAME}/7", headers=headers)
    assert state.calls == 1
    assert "x-cache" not in first.headers
    await client.get(f"{GAME}/7")  # anonymous: a miss (the private answer was not kept)
    assert state.calls == 2
    again = await client.get(f"{GAME}/7", headers=headers)  # never answered from the cache
    assert state.calls == 3
    assert "age" not in again.headers


async def test_a_body_too_big_to_keep_is_passed_through(
    wiring: Wiring, state: Upstream, clock: Clock
) -> None:
    small = ResponseCache(max_entries=10, max_bytes=3000, max_ttl_seconds=60, clock=clock)
    async with client_for(edge_gateway(wiring, state, small)) as http:
        for _ in range(2):
            response = await http.get("/api/v1/catalog/big")
            assert response.content == b"x" * 5000
    assert state.calls == 2
    assert len(small) == 0


# -- bounds and expiry -----------------------------------------------------------------------


async def test_the_least_recently_used_entry_goes_first(
    wiring: Wiring, state: Upstream, clock: Clock
) -> None:
    lru = ResponseCache(max_entries=3, max_bytes=1_000_000, max_ttl_seconds=60, clock=clock)
    async with client_for(edge_gateway(wiring, state, lru)) as http:
        for app_id in (1, 2, 3):
            await http.get(f"{GAME}/{app_id}")
        await http.get(f"{GAME}/1")  # a hit: 1 is now the most recently used
        await http.get(f"{GAME}/4")  # evicts 2
        assert len(lru) == 3
        assert state.calls == 4
        for app_id in (1, 3, 4):
            assert (await http.get(f"{GAME}/{app_id}")).headers["x-cache"] == "HIT"
        assert (await http.get(f"{GAME}/2")).headers["x-cache"] == "MISS"
    assert state.calls == 5


async def test_the_byte_bound_holds(wiring: Wiring, state: Upstream, clock: Clock) -> None:
    lru = ResponseCache(max_entries=1000, max_bytes=2000, max_ttl_seconds=60, clock=clock)
    async with client_for(edge_gateway(wiring, state, lru)) as http:
        for app_id in range(1, 30):
            await http.get(f"{GAME}/{app_id}")
    assert 0 < len(lru) < 29
    assert lru.size_bytes <= 2000
    assert f"{GAME}/29".encode() in lru  # the newest stays


async def test_an_entry_lives_as_long_as_max_age_says(
    client: httpx.AsyncClient, state: Upstream, clock: Clock
) -> None:
    await client.get(f"{GAME}/7/price")  # s-maxage=30 wins over max-age=5 for a shared cache
    clock.now += 29.5
    assert (await client.get(f"{GAME}/7/price")).headers["x-cache"] == "HIT"
    clock.now += 1
    assert (await client.get(f"{GAME}/7/price")).headers["x-cache"] == "MISS"
    assert state.calls == 2


async def test_no_entry_outlives_the_ceiling(wiring: Wiring, state: Upstream, clock: Clock) -> None:
    short = ResponseCache(max_entries=10, max_bytes=100_000, max_ttl_seconds=10, clock=clock)
    async with client_for(edge_gateway(wiring, state, short)) as http:
        await http.get(f"{GAME}/7")  # max-age=60
        clock.now += 9.9
        assert (await http.get(f"{GAME}/7")).headers["x-cache"] == "HIT"
        clock.now += 0.2
        assert (await http.get(f"{GAME}/7")).headers["x-cache"] == "MISS"
    assert state.calls == 2


def test_cache_control_is_read_as_a_shared_cache_must() -> None:
    assert lifetime_of(b"public, max-age=60") == 60
    assert lifetime_of(b"max-age=60, PUBLIC") == 60
    assert lifetime_of(b'public, max-age="20"') == 20
    assert lifetime_of(b"public, max-age=60, s-maxage=5") == 5
    assert lifetime_of(b"public, s-maxage=0, max-age=60") is None
    assert lifetime_of(b"public, max-age=soon") is None
    assert lifetime_of(b"public, max-age=-5") is None
    assert lifetime_of(b"public") is None
    assert lifetime_of(b"public, max-age=60, must-revalidate") == 60
    assert lifetime_of(b'public, private="x", max-age=60') is None


# -- invalidation ------------------------------------------------------------------------------


async def test_catalog_events_drop_the_game_and_the_shelves(
    client: httpx.AsyncClient, wiring: Wiring, edge: ResponseCache, state: Upstream
) -> None:
    edge.subscribe(wiring.transport, "gateway-edge")
    await wiring.transport.start()
    try:
        paths = [
            f"{GAME}/7",
            f"{GAME}/7?currency=EUR",
            f"{GAME}/7/price",
            f"{GAME}/70",  # another game whose id starts the same
            f"{GAME}/8",
            "/api/v1/catalog/shelves/specials",
            "/api/v1/catalog/shelves/genres/rpg",
            "/api/v1/catalog/suggest?q=port",  # titles and prices of any game
        ]
        for path in paths:
            await client.get(path)
        assert len(edge) == len(paths)

        await wiring.transport.publish(
            Event(type="GamePriceChanged", producer="catalog", key="7", payload={"app_id": 7})
        )
        assert sorted(key.decode() for key in edge.stored_keys()) == [f"{GAME}/70", f"{GAME}/8"]
        # Delivered again (at least once): nothing more to drop, nothing fails.
        await wiring.transport.publish(
            Event(type="GamePriceChanged", producer="catalog", key="7", payload={"app_id": 7})
        )
        assert len(edge) == 2

        state.versions[7] = 5
        assert (await client.get(f"{GAME}/7")).json()["version"] == 5
        assert (await client.get(f"{GAME}/8")).headers["x-cache"] == "HIT"
    finally:
        await wiring.transport.stop()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
async def test_every_catalog_event_drops_its_game(
    client: httpx.AsyncClient, edge: ResponseCache, event_type: str
) -> None:
    await client.get(f"{GAME}/7")
    await client.get(f"{GAME}/8")
    await edge.on_event(
        Event(type=event_type, producer="catalog", key="7", payload={"app_id": "7"})
    )
    assert f"{GAME}/7".encode() not in edge
    assert f"{GAME}/8".encode() in edge


async def test_related_games_named_by_an_event_are_dropped_too(
    client: httpx.AsyncClient, edge: ResponseCache
) -> None:
    for app_id in (7, 8, 9):
        await client.get(f"{GAME}/{app_id}")
    await edge.on_event(
        Event(
            type="GamePriceChanged",
            producer="catalog",
            key="7",
            payload={"app_id": 7, "related_app_ids": [9, "x"]},
        )
    )
    assert [key.decode() for key in edge.stored_keys()] == [f"{GAME}/8"]


async def test_an_event_without_a_readable_app_id_drops_everything(
    client: httpx.AsyncClient, edge: ResponseCache
) -> None:
    await client.get(f"{GAME}/7")
    await client.get("/api/v1/catalog/shelves/specials")
    await edge.on_event(Event(type="GameUpdated", producer="catalog", key="?", payload={}))
    assert len(edge) == 0


async def test_a_write_through_the_gateway_is_read_back_at_once(
    client: httpx.AsyncClient, state: Upstream
) -> None:
    await client.get(f"{GAME}/7")
    await client.get(f"{GAME}/7?currency=EUR")
    await client.get("/api/v1/catalog/shelves/specials")
    await client.get(f"{GAME}/8")
    assert (await client.patch(f"{GAME}/7")).status_code == 200
    assert state.calls == 4

    assert (await client.get(f"{GAME}/7")).json()["version"] == 2
    assert (await client.get(f"{GAME}/7?currency=EUR")).json()["version"] == 2
    assert (await client.get("/api/v1/catalog/shelves/specials")).headers["x-cache"] == "MISS"
    assert (await client.get(f"{GAME}/8")).headers["x-cache"] == "HIT"
    assert state.calls == 7


async def test_a_refused_write_drops_nothing(client: httpx.AsyncClient, state: Upstream) -> None:
    await client.get(f"{GAME}/7")
    assert (await client.patch(f"{GAME}/7?fail=1")).status_code == 409
    assert (await client.get(f"{GAME}/7")).headers["x-cache"] == "HIT"


async def test_a_miss_in_flight_during_a_drop_is_not_kept(
    client: httpx.AsyncClient, state: Upstream, edge: ResponseCache
) -> None:
    """It may have read the state from before the change the drop is about."""
    state.gate = asyncio.Event()
    pending = asyncio.create_task(client.get(f"{GAME}/7"))
    while state.calls == 0:
        await asyncio.sleep(0.001)
    await edge.on_event(
        Event(type="GameUpdated", producer="catalog", key="7", payload={"app_id": 7})
    )
    state.gate.set()
    assert (await pending).status_code == 200
    assert len(edge) == 0
    await client.get(f"{GAME}/7")
    assert len(edge) == 1


async def test_a_miss_in_flight_is_kept_when_other_games_change(
    client: httpx.AsyncClient, state: Upstream, edge: ResponseCache
) -> None:
    """So a stream of events about other games does not stop the cache from filling."""
    state.gate = asyncio.Event()
    pending = asyncio.create_task(client.get(f"{GAME}/8"))
    while state.calls == 0:
        await asyncio.sleep(0.001)
    for app_id in (7, 9, 80):
        await edge.on_event(
            Event(type="GameUpdated", producer="catalog", key="x", payload={"app_id": app_id})
        )
    state.gate.set()
    await pending
    assert edge.stored_keys() == [f"{GAME}/8".encode()]


async def test_a_miss_older_than_the_drops_remembered_is_not_kept(
    client: httpx.AsyncClient, state: Upstream, edge: ResponseCache
) -> None:
    """Past the drops it remembers, the cache cannot tell what a miss missed: it keeps none."""
    state.gate = asyncio.Event()
    pending = asyncio.create_task(client.get(f"{GAME}/8"))
    while state.calls == 0:
        await asyncio.sleep(0.001)
    edge.invalidate([f"catalog-game:{n}" for n in range(100, 100 + REMEMBERED_DROPS)], cause="x")
    edge.invalidate(["catalog-game:1"], cause="x")  # the first of those is forgotten now
    state.gate.set()
    await pending
    assert len(edge) == 0


# -- the gateway around it ---------------------------------------------------------------------


async def test_hits_are_logged_and_counted_like_any_request(
    wiring: Wiring, state: Upstream, edge: ResponseCache
) -> None:
    gateway = edge_gateway(wiring, state, edge)
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as logs:
            async with client_for(gateway) as http:
                await http.get(f"{GAME}/7")
                hit = await http.get(f"{GAME}/7", headers={"x-forwarded-for": "198.51.100.1"})
    finally:
        structlog.configure(**saved)
    lines = [line for line in logs if line["event"] == "request"]
    assert [line["status"] for line in lines] == [200, 200]
    assert lines[1]["route"] == "/api/v1/catalog"
    assert lines[1]["path"] == f"{GAME}/7"
    assert lines[1]["client"] == CLIENT_IP  # not a trusted proxy: its X-Forwarded-For is ignored
    assert hit.headers["x-cache"] == "HIT"
    async with client_for(gateway) as http:
        metrics = (await http.get("/metrics")).text
    assert 'lugx_edge_cache_lookups_total{result="hit"}' in metrics
    assert "lugx_edge_cache_entries" in metrics


async def test_hits_do_not_count_against_the_rate_limit(
    settings_factory: Callable[..., Settings], state: Upstream, edge: ResponseCache
) -> None:
    """A hit reaches no service; the limit protects the services."""
    wiring = build_wiring(settings_factory(rate_limit_per_minute=2), holds_signing_key=True)
    try:
        async with client_for(edge_gateway(wiring, state, edge)) as http:
            await http.get(f"{GAME}/7")
            for _ in range(5):
                assert (await http.get(f"{GAME}/7")).status_code == 200
            assert (await http.get(f"{GAME}/8")).status_code == 200
            assert (await http.get(f"{GAME}/9")).status_code == 429
    finally:
        await wiring.close()


async def test_the_settings_can_turn_it_off(
    settings_factory: Callable[..., Settings], wiring: Wiring
) -> None:
    for off in ({"edge_cache_max_entries": 0}, {"edge_cache_max_ttl_seconds": 0}):
        assert edge_cache_for(settings_factory(**off), wiring.transport) is None
    on = edge_cache_for(settings_factory(), wiring.transport)
    assert on is not None
    assert on.max_entries == 10_000


async def test_the_distributed_gateway_caches_only_with_a_broker(
    settings_factory: Callable[..., Settings],
) -> None:
    """Without a broker no event could reach it: a cache there would serve stale prices."""
    free = settings_factory(broker_url=None, service_urls={"catalog": "http://127.0.0.1:9"})
    async with client_for(distributed_gateway(free)) as http:
        response = await http.get(f"{GAME}/7")
    assert response.status_code == 502  # nothing listens there; the point is what is absent:
    assert "x-cache" not in response.headers


class UnreachableBroker:
    def subscribe(self, consumer: str, types: Any, handler: Any) -> None:
        self.types = list(types)

    async def start(self) -> None:
        raise ConnectionError("no broker here")

    async def stop(self) -> None:
        return None

    async def publish(self, event: Event) -> None:
        raise ConnectionError("no broker here")

    async def ping(self) -> None:
        raise ConnectionError("no broker here")


async def test_without_its_events_the_cache_turns_itself_off(
    wiring: Wiring, state: Upstream, edge: ResponseCache
) -> None:
    broker = UnreachableBroker()
    assert isinstance(broker, Transport)
    edge.subscribe(broker, "gateway-edge")
    assert broker.types == list(EVENT_TYPES)
    assert await edge.listen(broker) is False
    async with client_for(edge_gateway(wiring, state, edge)) as http:
        for _ in range(2):
            response = await http.get(f"{GAME}/7")
            assert response.status_code == 200
            assert "x-cache" not in response.headers
    assert state.calls == 2


# -- end to end, with the real catalog --------------------------------------------------------


@pytest.fixture
async def store(migrated: tuple[Path, str]) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    """Every service behind a gateway with its edge cache, wired the way `lugx up` wires it:
    the cache subscribes before the platform starts its transport."""
    if "catalog" not in SERVICE_MODULES:
        pytest.skip("the catalog service is not registered yet")
    data_dir, template = migrated
    run = uuid.uuid4().hex[:12]
    settings = settings_for(
        data_dir, template, cache_prefix=f"lugx-test:{run}:", event_namespace=f"lugxt{run}"
    )
    platform = Platform(settings, available())
    cache = edge_cache_for(settings, platform.wiring.transport)
    gateway = create_gateway(
        platform.wiring,
        {name: runtime.app for name, runtime in platform.runtimes.items()},
        edge_cache=cache,
    )
    await platform.start(migrate=False, seed=False)
    try:
        async with client_for(gateway) as http:
            yield platform, http
    finally:
        await stop_emptied(platform)


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within time"
        await asyncio.sleep(0.02)


async def _settled(platform: Platform, service: str = "catalog") -> None:
    """Until the service has delivered every event it wrote, so none drops an entry behind the
    test's back."""
    runtime = platform.runtimes[service]
    outbox = runtime.spec.event_tables.outbox

    async def drained() -> bool:
        async with runtime.ctx.db.session(write=False) as session:
            pending = await session.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            return pending.scalar_one() == 0

    await _eventually(drained)
    if TEST_BROKER_URL:
        await asyncio.sleep(0.5)  # published to the broker; give it time to reach the gateway


async def test_a_new_price_shows_through_the_gateway_despite_a_cached_detail(
    store: tuple[Platform, httpx.AsyncClient],
) -> None:
    from tests.catalog.factories import create_game, publisher_account

    platform, http = store
    owner = await publisher_account(http, platform)
    game = await create_game(http, owner, price={"amount": 1999, "currency": "USD"})
    path = f"{GAME}/{game['app_id']}"
    await _settled(platform)
    await http.get(path)
    cached = await http.get(path)
    assert cached.headers["x-cache"] == "HIT"
    assert cached.json()["price"]["amount"] == 1999

    changed = await http.patch(
        path, json={"price": {"amount": 999, "currency": "USD"}}, headers=owner.headers
    )
    assert changed.status_code == 200, changed.text
    fresh = await http.get(path)  # at once: the write passed through this gateway
    assert fresh.json()["price"]["amount"] == 999
    assert fresh.headers["etag"] != cached.headers["etag"]
    await _settled(platform)
    assert (await http.get(path)).json()["price"]["amount"] == 999
    again = await http.get(path)
    assert again.headers["x-cache"] == "HIT"
    assert again.json()["price"]["amount"] == 999


async def test_a_change_made_elsewhere_reaches_the_edge_by_its_event(
    store: tuple[Platform, httpx.AsyncClient],
) -> None:
    """Another gateway replica, or the catalog itself, made the change: only its event (through
    the real outbox, relay and transport) can tell this gateway."""
    from tests.catalog.factories import create_game, publisher_account

    platform, http = store
    owner = await publisher_account(http, platform)
    game = await create_game(http, owner, title="Before")
    path = f"{GAME}/{game['app_id']}"
    await _settled(platform)
    await http.get(path)
    assert (await http.get(path)).headers["x-cache"] == "HIT"

    catalog = httpx.ASGITransport(app=platform.runtimes["catalog"].app)
    async with httpx.AsyncClient(transport=catalog, base_url="http://catalog") as direct:
        changed = await direct.patch(path, json={"title": "After"}, headers=owner.headers)
        assert changed.status_code == 200, changed.text

    async def renamed() -> bool:
        return bool((await http.get(path)).json()["title"] == "After")

    await _eventually(renamed)


async def test_a_review_summary_is_kept_at_the_edge_until_a_review_changes_it(
    store: tuple[Platform, httpx.AsyncClient],
) -> None:
    if "reviews" not in SERVICE_MODULES:
        pytest.skip("the reviews service is not registered")
    from tests.reviews.factories import a_game, owners, post_review

    platform, http = store
    _publisher, game = await a_game(http, platform)
    app_id = game["app_id"]
    first, second = await owners(http, platform, app_id, 2)
    await post_review(http, first, app_id)
    path = f"/api/v1/reviews/games/{app_id}/summary"

    async def total() -> int:
        return int((await http.get(path)).json()["all_time"]["total"])

    await _eventually(lambda: _is(total(), 1))
    for service in ("reviews", "catalog"):  # the summary's event, then the catalog's GameUpdated
        await _settled(platform, service)
    await http.get(path)
    again = await http.get(path)
    assert again.headers["x-cache"] == "HIT"
    # A review posted through the gateway drops the game's summary at once.
    await post_review(http, second, app_id, recommended=False)
    assert await total() == 2
    # Changed without the gateway seeing it (an edit, say): the reviews service's summary event
    # drops it too.
    for service in ("reviews", "catalog"):
        await _settled(platform, service)
    await http.get(path)
    assert (await http.get(path)).headers["x-cache"] == "HIT"
    await platform.wiring.transport.publish(
        Event(
            type="GameReviewSummaryChanged",
            producer="reviews",
            key=str(app_id),
            payload={"app_id": app_id},
        )
    )

    await _eventually(lambda: _missed(http, path))


async def _missed(http: httpx.AsyncClient, path: str) -> bool:
    return (await http.get(path)).headers.get("x-cache") != "HIT"


async def _is(pending: Awaitable[int], expected: int) -> bool:
    return await pending == expected
