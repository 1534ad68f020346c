"""What the benchmark measures. A scenario names the app to serve and a setup that, given an
HTTP client on that server, prepares whatever it needs (accounts, tokens, data) through the API
and returns the request to repeat under load (or a list of paths to take in turn).

Adding one (checkout, library) is a setup function and a line in SCENARIOS. A scenario with
`data="catalog"` runs on the load catalog, seeded once per bench run (`lugx seed --games N`)
and shared by every such scenario.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from lugx.bench import reviews
from lugx.bench.server import BenchError

CATALOG = "/api/v1/catalog"
DETAIL_SPREAD = 2_000  # distinct games the detail scenario reads, all over the catalog
SEARCH_QUERIES = 1_000  # distinct searches: a word and two filters each
SUGGEST_PREFIXES = 1_000  # distinct search-as-you-type prefixes
PRIME_SECONDS = 30.0  # the detail scenario's first reads stop after this (entries live 60 s)
PLATFORMS = ("windows", "mac", "linux")
PAGE = 100  # games per page when listing the catalog to pick from
# Orders to list the catalog in, to pick games from all over it (those the API refuses are skipped).
LIST_SORTS = ("name", "price", "release_date", "review_score", "top_sellers")
QUERY_SEED = 2026  # the same queries on every run, for a given catalog


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # When given, the load takes these paths in turn (`path` is the first of them).
    paths: tuple[str, ...] = ()
    note: str = ""  # what the setup found worth reporting (printed under the table)
    # A journey instead of one request (lugx.bench.flows): its name and what it starts from.
    flow: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


Setup = Callable[[httpx.AsyncClient], Awaitable[Request]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    app: str  # a key of lugx.bench.apps.APPS
    setup: Setup
    baseline: bool = False
    # Targets (None: none). A share of the baseline's req/s; req/s; p99; the server's peak RSS.
    target_ratio: float | None = None
    target_rps: float | None = None
    target_p99_ms: float | None = None
    target_rss_mib: float | None = None
    connections: int | None = None  # fixed by the scenario's definition; else --connections
    data: str | None = None  # "catalog": runs on the seeded load catalog
    requires: str | None = None  # a service that must be registered (else skipped)
    # "postgresql": the server's databases are PostgreSQL ones (made afresh for the run),
    # skipped with a note when no PostgreSQL answers.
    database: str | None = None


async def hello(_http: httpx.AsyncClient) -> Request:
    return Request("GET", "/")


async def signed_in(http: httpx.AsyncClient) -> dict[str, str]:
    """A new player, registered and signed in through the API: the Authorization header."""
    username = f"bench{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    await _expect(
        http.post(
            "/api/v1/users/register",
            json={"username": username, "email": f"{username}@bench.example", "password": password},
        ),
        "register",
    )
    tokens = await _expect(
        http.post("/api/v1/users/login", json={"login": username, "password": password}),
        "login",
    )
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def users_me(http: httpx.AsyncClient) -> Request:
    return Request("GET", "/api/v1/users/me", headers=await signed_in(http))


async def _expect(pending: Awaitable[httpx.Response], step: str) -> httpx.Response:
    response = await pending
    if not response.is_success:
        raise BenchError(
            f"setup step {step!r} failed: {response.status_code} {response.text[:300]}"
        )
    return response


# -- catalog -----------------------------------------------------------------------------------


async def catalog_detail(http: httpx.AsyncClient) -> Request:
    """Game pages of a spread of games, each read once first: those cold reads reach the
    catalog (their latency is reported), and the edge cache keeps what they return, so the
    load measures the hot path, the gateway answering from memory. Entries that expire (a
    price about to change, the 60 s ceiling) are read from the catalog again under load, and
    so are the pages the first reads had no time for (they stop after PRIME_SECONDS: what
    they keep would expire before the load begins)."""
    games = await catalog_games(http, DETAIL_SPREAD)
    app_ids = [game["app_id"] for game in games]
    random.Random(QUERY_SEED).shuffle(app_ids)
    return await _primed(http, rotation(f"{CATALOG}/games/{app_id}" for app_id in app_ids))


async def _primed(http: httpx.AsyncClient, request: Request) -> Request:
    """Each path read once, timed (for at most PRIME_SECONDS), before the load: the cost of a
    read the edge cache cannot answer, in the note."""
    cold = await _timed_reads(http, request.paths, PRIME_SECONDS)
    cut = (
        f", stopped after {PRIME_SECONDS:g} s: the other {len(request.paths) - len(cold):,} "
        "are first read under load"
        if len(cold) < len(request.paths)
        else ""
    )
    return replace(
        request,
        note=(
            f"{len(cold):,} cold reads first (edge miss, the catalog answers), one at a time: "
            f"p50 {_quantile(cold, 0.5):.2f} ms, p99 {_quantile(cold, 0.99):.2f} ms{cut}"
        ),
    )


async def _timed_reads(
    http: httpx.AsyncClient, paths: Sequence[str], seconds: float
) -> list[float]:
    took: list[float] = []
    deadline = time.perf_counter() + seconds
    for path in paths:
        started = time.perf_counter()
        if started > deadline:
            break
        await _expect(http.get(path), "read a game")
        took.append((time.perf_counter() - started) * 1000)
    return took


def _quantile(values: Sequence[float], q: float) -> float:
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, int(q * len(ranked)))] if ranked else 0.0


async def catalog_search(http: httpx.AsyncClient) -> Request:
    """Distinct searches, each a word (from the catalog's titles and tags) and two filters
    (genre, platform). The edge must not answer any of them: checked here."""
    games = await catalog_games(http, DETAIL_SPREAD)
    words = title_words(games) | await tag_words(http)
    genres = [
        genre["slug"] for genre in (await _expect(http.get(f"{CATALOG}/genres"), "genres")).json()
    ]
    queries = search_queries(sorted(words), genres, SEARCH_QUERIES)
    request = rotation(f"{CATALOG}/games?{query}" for query in queries)
    await not_cached_at_the_edge(http, request.paths[0])
    return request


async def catalog_suggest(http: httpx.AsyncClient) -> Request:
    """Search-as-you-type: prefixes of the words of real titles, two to six letters. Suggest
    answers are public for a few seconds, so the edge cache answers repeats: each prefix is
    read once first, and the note gives those uncached reads' latency."""
    games = await catalog_games(http, DETAIL_SPREAD)
    prefixes = suggest_prefixes([game["title"] for game in games], SUGGEST_PREFIXES)
    return await _primed(
        http, rotation(f"{CATALOG}/suggest?q={quote(prefix)}" for prefix in prefixes)
    )


async def catalog_games(http: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """About `count` distinct published games from all over the catalog: the first pages of
    the list in each order it offers (by name, price, release date, reviews, sales), so hits
    and the long tail, old and new, cheap and dear all come in."""
    found: dict[int, dict[str, Any]] = {}
    sorts = [sort for sort in LIST_SORTS if await _sort_accepted(http, sort)]
    if not sorts:
        raise BenchError(f"{CATALOG}/games accepts none of the sorts {', '.join(LIST_SORTS)}")
    for sort in sorts:
        wanted = len(found) + -(-count // len(sorts))
        async for game in _listed(http, sort):
            found.setdefault(int(game["app_id"]), game)
            if len(found) >= min(wanted, count):
                break
    if not found:
        raise BenchError("the catalog lists no games: was it seeded?")
    return list(found.values())


async def _sort_accepted(http: httpx.AsyncClient, sort: str) -> bool:
    response = await http.get(f"{CATALOG}/games", params={"sort": sort, "limit": 1})
    if response.status_code in (400, 422):
        return False
    if not response.is_success:
        raise BenchError(f"listing games by {sort} failed: {response.status_code} {response.text}")
    return True


async def _listed(http: httpx.AsyncClient, sort: str) -> AsyncIterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"sort": sort, "limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        page = (await _expect(http.get(f"{CATALOG}/games", params=params), "list games")).json()
        for game in page["items"]:
            yield game
        cursor = page.get("next_cursor")
        if not cursor or not page["items"]:
            return


_WORD = re.compile(r"[a-z]{3,}")


def title_words(games: Sequence[dict[str, Any]]) -> set[str]:
    return {word for game in games for word in _WORD.findall(str(game["title"]).lower())}


async def tag_words(http: httpx.AsyncClient) -> set[str]:
    """Words of the catalog's most used tags (from the facets), when the API offers them."""
    response = await http.get(f"{CATALOG}/games", params={"facets": "true", "limit": 1})
    if not response.is_success:
        return set()
    tags = (response.json().get("facets") or {}).get("tags") or {}  # slug -> games
    return {word for slug in tags for word in _WORD.findall(str(slug).lower())}


def search_queries(words: Sequence[str], genres: Sequence[str], count: int) -> list[str]:
    """`count` distinct query strings `q=<word>&genre=<g>&platform=<p>`, the same every run."""
    if not words or not genres:
        raise BenchError("no words or genres to search for")
    combinations = len(words) * len(genres) * len(PLATFORMS)
    if combinations < count:
        raise BenchError(f"only {combinations} distinct searches can be made from the catalog")
    rng = random.Random(QUERY_SEED)
    chosen: dict[str, None] = {}
    while len(chosen) < count:
        query = urlencode(
            {"q": rng.choice(words), "genre": rng.choice(genres), "platform": rng.choice(PLATFORMS)}
        )
        chosen[query] = None
    return list(chosen)


def suggest_prefixes(titles: Sequence[str], count: int) -> list[str]:
    """Distinct prefixes as a player types them: a title's first word cut at 2 to 6 letters,
    and the first word plus the start of the second."""
    rng = random.Random(QUERY_SEED)
    found: dict[str, None] = {}
    for title in titles:
        words = title.lower().split()
        if not words:
            continue
        first = words[0]
        found[first[: rng.randint(2, 6)]] = None
        if len(words) > 1:
            found[f"{first} {words[1][: rng.randint(1, 3)]}"] = None
        if len(found) >= count:
            break
    prefixes = [prefix for prefix in found if len(prefix.strip()) >= 2]
    if not prefixes:
        raise BenchError("no titles to type the start of")
    return prefixes[:count]


def rotation(paths: Sequence[str] | Any) -> Request:
    paths = tuple(paths)
    return Request("GET", paths[0], paths=paths)


async def not_cached_at_the_edge(http: httpx.AsyncClient, path: str) -> None:
    """Refuse to measure what must reach its service (searches, review pages) if the gateway's
    edge cache (or a response marked shareable) could answer a repeat."""
    from lugx.gateway.edge_cache import lifetime_of

    for _ in range(2):
        response = await _expect(http.get(path), f"GET {path}")
        if response.headers.get("x-cache") == "HIT" or "age" in response.headers:
            raise BenchError(f"{path} was answered by the edge cache; it must reach the service")
        cache_control = response.headers.get("cache-control", "").encode("latin-1")
        if cache_control and lifetime_of(cache_control) is not None:
            raise BenchError(f"{path} is marked shareable ({cache_control!r}); it must not be")


CHECKOUT_PLAYERS = 16
GAMES_PER_PLAYER = 1_600  # distinct games each player can buy, two per checkout


async def checkout(http: httpx.AsyncClient) -> Request:
    """Players, each with games of their own to buy: a checkout never finds a game owned."""
    players = [await signed_in(http) for _ in range(CHECKOUT_PLAYERS)]
    wanted = CHECKOUT_PLAYERS * GAMES_PER_PLAYER
    games: list[int] = []
    cursor: str | None = None
    while len(games) < wanted:
        params: dict[str, Any] = {"type": "game", "price_min": 100, "limit": PAGE, "sort": "name"}
        if cursor:
            params["cursor"] = cursor
        page = (await _expect(http.get(f"{CATALOG}/games", params=params), "games")).json()
        games += [item["app_id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if len(games) < 2 * CHECKOUT_PLAYERS:
        raise BenchError(f"checkout needs paid games to buy; the catalog has {len(games)}")
    share = len(games) // CHECKOUT_PLAYERS
    state = {
        "players": players,
        "games": [games[i * share : (i + 1) * share] for i in range(CHECKOUT_PLAYERS)],
    }
    return Request(
        "POST",
        "/api/v1/purchases/checkout",
        flow="checkout",
        state=state,
        note=f"{CHECKOUT_PLAYERS} players, {share} games each to buy two at a time, card 4242",
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("hello", "Starlette hello world (baseline)", "hello", hello, baseline=True),
    Scenario(
        "users-me",
        "GET /api/v1/users/me via the gateway",
        "embedded",
        users_me,
        target_ratio=0.15,
    ),
    Scenario(
        "catalog-detail",
        f"GET {CATALOG}/games/{{app_id}} via the gateway, {DETAIL_SPREAD:,} games in turn",
        "embedded",
        catalog_detail,
        target_ratio=0.4,
        target_rss_mib=400,
        data="catalog",
        requires="catalog",
    ),
    Scenario(
        "catalog-search",
        f"GET {CATALOG}/games?q=&genre=&platform=, {SEARCH_QUERIES:,} distinct searches",
        "embedded",
        catalog_search,
        target_rps=300,
        target_p99_ms=25,
        target_rss_mib=400,
        connections=4,
        data="catalog",
        requires="catalog",
    ),
    Scenario(
        "catalog-suggest",
        f"GET {CATALOG}/suggest?q=, {SUGGEST_PREFIXES:,} distinct prefixes",
        "embedded",
        catalog_suggest,
        target_p99_ms=10,
        target_rss_mib=400,
        connections=16,
        data="catalog",
        requires="catalog",
    ),
    Scenario(
        "checkout",
        "cart (2 games) -> card checkout -> library, per player, SQLite",
        "embedded",
        checkout,
        target_rps=150,
        target_p99_ms=250,
        connections=CHECKOUT_PLAYERS,
        data="shop",
        requires="purchases",
    ),
    Scenario(
        "checkout-postgres",
        "the same journey on PostgreSQL",
        "embedded",
        checkout,
        target_rps=150,
        target_p99_ms=250,
        connections=CHECKOUT_PLAYERS,
        data="shop",
        requires="purchases",
        database="postgresql",
    ),
    Scenario(
        "reviews-helpful",
        f"GET {reviews.HELPFUL_PATH}, 100k reviews, 1M votes",
        "embedded",
        reviews.reviews_helpful,
        target_p99_ms=20,
        connections=reviews.CONNECTIONS,
        data="reviews",
        requires="reviews",
    ),
    Scenario(
        "reviews-summary",
        f"GET {reviews.SUMMARY_PATH}, 100k reviews",
        "embedded",
        reviews.reviews_summary,
        target_p99_ms=5,
        connections=reviews.CONNECTIONS,
        data="reviews",
        requires="reviews",
    ),
)
