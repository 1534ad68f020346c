"""Reviews data: the quick start's demo reviews, and the benchmark's bulk load.

Demo (`lugx up` in development): a dozen demo reviewers, registered through the users
service's own API, review the first games of the demo store, so its pages show scores.

Bench (`load_bench`, `lugx seed --reviews N --votes M`): one game with N reviews and M votes,
in one transaction. The votes are counted first (each review's counters and Wilson score are
written with the review), then made review by review as they are written, so a million votes
never sit in memory at once.
"""

from __future__ import annotations

import gc
import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Dialect, Table, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.db import Database, utcnow
from lugx.platform.errors import LugxError, NotFound
from lugx.platform.service import ServiceContext
from lugx.services.reviews import repository as repo
from lugx.services.reviews import summaries
from lugx.services.reviews.models import GameDay, GameSummary, Review, ReviewVote
from lugx.services.reviews.scoring import wilson_lower_bound

log = structlog.get_logger(__name__)

DEMO_REVIEWERS = 12
DEMO_GAMES = 5
BENCH_APP_ID = 10  # the first game of any catalog (app ids start at 10)
REVIEW_BATCH = 5_000
VOTE_BATCH = 20_000
LANGUAGES = ("en", "en", "en", "en", "de", "fr", "es", "pt-BR", "ru", "zh-CN")

_OPENINGS = (
    "Lost a whole weekend to this one.",
    "Solid, but the late game drags.",
    "The soundtrack alone is worth it.",
    "Crashed twice in the first hour.",
    "Best co-op I have played in years.",
    "Fun for a while, then repetitive.",
    "Great art, thin story.",
    "Not worth full price; wait for a sale.",
)
_CLOSINGS = (
    "Recommended with friends.",
    "Patch notes look promising.",
    "Would play again.",
    "Controls need work.",
    "A classic in the making.",
    "Refunded after two hours.",
)


def review_text(rng: random.Random) -> str:
    return f"{rng.choice(_OPENINGS)} {rng.choice(_CLOSINGS)}"


# --- writing reviews in bulk ----------------------------------------------------------------


async def write_reviews(
    ctx: ServiceContext, rows: list[dict[str, Any]], *, batch: int = REVIEW_BATCH
) -> None:
    """Insert review rows (counters included) and bring each game's summary up to date: one
    summary change and one event per game, not per review."""
    table: Table = Review.__table__  # type: ignore[assignment]
    for start in range(0, len(rows), batch):
        async with ctx.db.session() as session:
            await session.execute(insert(table), rows[start : start + batch])
    by_game: dict[int, Counter[tuple[Any, bool]]] = {}
    for row in rows:
        if not row.get("hidden", False):
            by_game.setdefault(row["app_id"], Counter())[
                (row["created_at"].date(), row["recommended"])
            ] += 1
    for app_id, days in by_game.items():
        async with ctx.db.session() as session:
            await _add_counts(session, ctx, app_id, days)


async def _add_counts(
    session: AsyncSession, ctx: ServiceContext, app_id: int, days: Counter[tuple[Any, bool]]
) -> None:
    total = sum(days.values())
    positive = sum(n for (_day, recommended), n in days.items() if recommended)
    for day in {day for day, _ in days}:
        day_total = days[(day, True)] + days[(day, False)]
        await repo.bump_day(session, app_id, day, day_total, days[(day, True)])
    # The last step goes through the rule every review takes: summary row, event, cache.
    all_total, all_positive, revision = await repo.bump_summary(session, app_id, total, positive)
    await summaries.publish(
        session, ctx.events, app_id, all_total, all_positive, revision, utcnow().date()
    )
    summaries.forget_summary_after_commit(session, ctx.cache, app_id)
    summaries.forget_pages_after_commit(session, ctx.cache, app_id)


# --- the quick start's demo -----------------------------------------------------------------


async def seed_demo(ctx: ServiceContext) -> None:
    async with ctx.db.session(write=False) as session:
        if (await session.execute(select(Review.id).limit(1))).first() is not None:
            return
    try:
        app_ids = await _demo_games(ctx)
        reviewers = [await _demo_reviewer(ctx, n) for n in range(1, DEMO_REVIEWERS + 1)]
    except LugxError:
        log.info("no demo store or accounts to review; no demo reviews")
        return
    rng, now = random.Random(2026), utcnow()
    rows = []
    for rank, app_id in enumerate(app_ids):
        liking = (0.95, 0.85, 0.72, 0.5, 0.3)[rank % 5]
        for author in reviewers:
            rows.append(_demo_row(rng, app_id, author, rng.random() < liking, now))
    await write_reviews(ctx, rows)
    log.info("demo reviews written", reviews=len(rows), games=len(app_ids))


def _demo_row(
    rng: random.Random, app_id: int, author: uuid.UUID, recommended: bool, now: datetime
) -> dict[str, Any]:
    created = now - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 1440))
    return review_row(
        app_id=app_id,
        author_id=author,
        recommended=recommended,
        body=review_text(rng),
        language="en",
        playtime=rng.randint(30, 6000),
        created_at=created,
    )


async def _demo_games(ctx: ServiceContext) -> list[int]:
    from lugx.services.catalog.client import CatalogClient

    response = await ctx.client(CatalogClient).request(
        "GET", "/api/v1/catalog/shelves/top-sellers", params={"limit": DEMO_GAMES}
    )
    return [int(item["app_id"]) for item in response.json()["items"]]


async def _demo_reviewer(ctx: ServiceContext, number: int) -> uuid.UUID:
    """A demo reviewer, registered through the users service's own API (or found there)."""
    from lugx.services.users.client import UsersClient

    users = ctx.client(UsersClient)
    username = f"reviewer{number:02d}"
    try:
        return (await users.profile(username)).id
    except LugxError:
        pass
    response = await users.request(
        "POST",
        "/api/v1/users/register",
        json={
            "username": username,
            "email": f"{username}@lugx.example",
            "password": secrets.token_urlsafe(18),
        },
    )
    return uuid.UUID(response.json()["id"])


def review_row(
    *,
    app_id: int,
    author_id: uuid.UUID,
    recommended: bool,
    body: str,
    language: str,
    playtime: int,
    created_at: datetime,
    review_id: uuid.UUID | None = None,
    helpful_yes: int = 0,
    helpful_no: int = 0,
    funny: int = 0,
) -> dict[str, Any]:
    return {
        "id": review_id or uuid.uuid4(),
        "app_id": app_id,
        "author_id": author_id,
        "recommended": recommended,
        "body": body,
        "language": language,
        "playtime_at_review": playtime,
        "playtime_at_edit": None,
        "early_access": False,
        "received_for_free": False,
        "edited_at": None,
        "hidden": False,
        "helpful_yes": helpful_yes,
        "helpful_no": helpful_no,
        "funny": funny,
        "wilson_score": wilson_lower_bound(helpful_yes, helpful_yes + helpful_no),
        "comment_count": 0,
        "response_body": None,
        "response_by": None,
        "responded_at": None,
        "created_at": created_at,
        "updated_at": created_at,
    }


# --- the benchmark's load -------------------------------------------------------------------
# 100,000 reviews and 1,000,000 votes in one transaction: rows made as tuples in the table's
# column order, written by COPY on PostgreSQL and by one compiled executemany per batch on
# SQLite (the catalog's loader does the same, seed_load.py), reviews and each review's votes in
# primary key order, so the indexes grow at their right edge instead of all over.

Progress = Callable[[str, int], None]  # (table, rows just written)

REVIEW_COLUMNS = (
    "id",
    "app_id",
    "author_id",
    "recommended",
    "body",
    "language",
    "playtime_at_review",
    "playtime_at_edit",
    "early_access",
    "received_for_free",
    "edited_at",
    "hidden",
    "helpful_yes",
    "helpful_no",
    "funny",
    "wilson_score",
    "comment_count",
    "response_body",
    "response_by",
    "responded_at",
    "created_at",
    "updated_at",
)
VOTE_COLUMNS = ("review_id", "user_id", "kind", "value", "created_at")
SQLITE_LOAD_CACHE_KIB = 65_536  # SQLite's page cache while loading (its default is 2 MiB)


@dataclass
class BenchLoad:
    app_id: int
    reviews: int
    votes: int
    seed: int = 42
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _Counts:
    """Each review's votes, by review index."""

    yes: list[int]
    no: list[int]
    funny: list[int]


async def bench_game(ctx: ServiceContext) -> int | None:
    """The game a bench load goes to: BENCH_APP_ID when the catalog publishes it, else the
    first game it lists; None when it lists none."""
    from lugx.services.catalog.client import CatalogClient

    catalog = ctx.client(CatalogClient)
    try:
        await catalog.request("GET", f"/api/v1/catalog/games/{BENCH_APP_ID}")
        return BENCH_APP_ID
    except NotFound:
        pass
    response = await catalog.request(
        "GET", "/api/v1/catalog/games", params={"sort": "name", "limit": 1}
    )
    items = response.json()["items"]
    return int(items[0]["app_id"]) if items else None


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _count_votes(load: BenchLoad, liked: list[float]) -> _Counts:
    """Who gets the load's votes: they pile on a few reviews (as on a real store, the top
    reviews get most of them); a tenth are funny, the others helpful as each review deserves."""
    rng = random.Random(load.seed * 7919 + 1)
    count = len(liked)
    counts = _Counts([0] * count, [0] * count, [0] * count)
    draw = rng.random
    for _ in range(load.votes):
        index = min(count - 1, int(count * draw() ** 4))
        if draw() < 0.1:
            counts.funny[index] += 1
        elif draw() < liked[index]:
            counts.yes[index] += 1
        else:
            counts.no[index] += 1
    return counts


def _review_rows(
    load: BenchLoad, rng: random.Random, ids: list[uuid.UUID], counts: _Counts, now: datetime
) -> list[tuple[Any, ...]]:
    rows = []
    for i, review_id in enumerate(ids):
        row = review_row(
            review_id=review_id,
            app_id=load.app_id,
            author_id=_uuid(rng),
            recommended=rng.random() < 0.85,
            body=review_text(rng),
            language=rng.choice(LANGUAGES),
            playtime=rng.randint(10, 20_000),
            created_at=now - timedelta(seconds=rng.randint(0, 730 * 86_400)),
            helpful_yes=counts.yes[i],
            helpful_no=counts.no[i],
            funny=counts.funny[i],
        )
        rows.append(tuple(row[column] for column in REVIEW_COLUMNS))
    return rows


def _vote_rows(
    load: BenchLoad, ids: list[uuid.UUID], counts: _Counts, now: datetime
) -> Iterator[tuple[Any, ...]]:
    """The votes, review by review (in id order), each review's by voter: made as written, so
    a million never sit in memory at once."""
    rng = random.Random(load.seed * 104_729 + 3)
    for i, review_id in enumerate(ids):
        kinds = (
            [("helpful", True)] * counts.yes[i]
            + [("helpful", False)] * counts.no[i]
            + [("funny", True)] * counts.funny[i]
        )
        voters = sorted((_uuid(rng), kind, value) for kind, value in kinds)
        for user_id, kind, value in voters:
            yield (review_id, user_id, kind, value, now)


class _Writer:
    """Rows (tuples in `columns` order) into a table inside the session's transaction."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect) -> None:
        self.table, self.columns = table, list(columns)
        self.copy = dialect.name == "postgresql" and dialect.driver == "asyncpg"
        compiled = insert(table).compile(dialect=dialect, column_keys=self.columns)
        names = list(compiled.positiontup or ())
        self.sql = str(compiled)
        self.positional = bool(compiled.positional) and set(names) == set(self.columns)
        self.processors = [
            (
                self.columns.index(name),
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in (names if self.positional else ())
        ]

    async def write(self, session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
        connection = await session.connection()
        if self.copy:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.copy_records_to_table(self.table.name, records=rows, columns=self.columns)
        elif self.positional:
            await connection.exec_driver_sql(self.sql, self._parameters(rows))
        else:
            await session.execute(
                insert(self.table), [dict(zip(self.columns, row, strict=True)) for row in rows]
            )

    def _parameters(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        columns = []
        for index, process in self.processors:
            values = [row[index] for row in rows]
            columns.append(list(map(process, values)) if process is not None else values)
        return list(zip(*columns, strict=True))


async def load_bench(
    ctx: ServiceContext, load: BenchLoad, progress: Progress | None = None
) -> BenchLoad:
    """Give one game `load.reviews` reviews and `load.votes` votes (its earlier reviews are
    removed first), with counters, Wilson scores and its summary as the API would leave them,
    all in one transaction. `load.seconds` tells where the time went."""
    say = progress or (lambda _table, _rows: None)
    started = time.perf_counter()
    with _no_cycle_collector():
        rng, now = random.Random(load.seed), utcnow()
        ids = sorted(_uuid(rng) for _ in range(load.reviews))
        liked = [rng.betavariate(6, 2) for _ in ids]
        counts = _count_votes(load, liked)
        reviews = _review_rows(load, rng, ids, counts, now)
        load.seconds["generate"] = _lap(started)
        async with _bulk_writes(ctx.db), ctx.db.session() as session:
            await _clear_game(session, load.app_id)
            load.seconds["clear"] = _lap(started, load.seconds)
            writer = _Writer(_table(Review), REVIEW_COLUMNS, session.get_bind().dialect)
            for start in range(0, len(reviews), REVIEW_BATCH):
                await writer.write(session, reviews[start : start + REVIEW_BATCH])
                say("reviews", len(reviews[start : start + REVIEW_BATCH]))
            await _count_in(session, ctx, load.app_id, reviews)
            load.seconds["reviews"] = _lap(started, load.seconds)
            writer = _Writer(_table(ReviewVote), VOTE_COLUMNS, session.get_bind().dialect)
            batch: list[tuple[Any, ...]] = []
            for vote in _vote_rows(load, ids, counts, now):
                batch.append(vote)
                if len(batch) == VOTE_BATCH:
                    await writer.write(session, batch)
                    say("review_votes", len(batch))
                    batch = []
            if batch:
                await writer.write(session, batch)
                say("review_votes", len(batch))
            load.seconds["votes"] = _lap(started, load.seconds)
    await _analyze(ctx)
    load.seconds["analyze"] = _lap(started, load.seconds)
    return load


def _lap(started: float, seconds: dict[str, float] | None = None) -> float:
    """Seconds since `started` not yet accounted for in `seconds`."""
    return time.perf_counter() - started - sum((seconds or {}).values())


def _table(model: type[Review] | type[ReviewVote]) -> Table:
    return model.__table__  # type: ignore[return-value]


async def _count_in(
    session: AsyncSession, ctx: ServiceContext, app_id: int, rows: list[tuple[Any, ...]]
) -> None:
    recommended, created = REVIEW_COLUMNS.index("recommended"), REVIEW_COLUMNS.index("created_at")
    days: Counter[tuple[Any, bool]] = Counter(
        (row[created].date(), row[recommended]) for row in rows
    )
    await _add_counts(session, ctx, app_id, days)


async def _clear_game(session: AsyncSession, app_id: int) -> None:
    """The game's reviews (and their votes, by cascade) and days go; its summary row stays,
    emptied, so the summary published after the load has a higher revision than any before
    (the catalog keeps the highest)."""
    await session.execute(delete(Review).where(Review.app_id == app_id))
    await session.execute(delete(GameDay).where(GameDay.app_id == app_id))
    await session.execute(
        update(GameSummary).where(GameSummary.app_id == app_id).values(total=0, positive=0)
    )


@contextmanager
def _no_cycle_collector() -> Iterator[None]:
    """Millions of small objects and not one cycle among them: the cycle collector would only
    walk them again and again as they pile up."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@asynccontextmanager
async def _bulk_writes(db: Database) -> AsyncIterator[None]:
    """SQLite: no fsync while loading (`synchronous=OFF`) and a page cache big enough for the
    votes' primary key, on the writer's one connection; the kit's settings back afterwards. A
    crash mid-load costs the load, which is re-run anyway. The pragmas cannot change inside a
    transaction, and SQLAlchemy would open one: they go to the driver's connection."""
    if not db.sqlite:
        yield
        return
    synchronous = await db.writer_pragma("PRAGMA synchronous")
    cache_size = await db.writer_pragma("PRAGMA cache_size")
    await db.writer_pragma("PRAGMA synchronous=OFF")
    await db.writer_pragma(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        await db.writer_pragma(f"PRAGMA synchronous={int(synchronous or 0)}")
        await db.writer_pragma(f"PRAGMA cache_size={int(cache_size or -2000)}")


async def _analyze(ctx: ServiceContext) -> None:
    """Fresh planner statistics, so the pages read the indexes they were built for."""
    async with ctx.db.session() as session:
        await session.execute(text("ANALYZE"))
