"""The reviews benchmark: its data set (seeded once, reused), its two scenarios (reads that
reach the reviews service, and the uncached reads measured first), and the bulk loader behind
`lugx seed --reviews N --votes M`, checked row by row on a few hundred reviews."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from lugx.bench import datasets, reviews, runner
from lugx.bench.scenarios import SCENARIOS
from lugx.bench.server import BenchError
from lugx.cli import main
from lugx.platform.bootstrap import Platform
from lugx.services.reviews import seed as reviews_seed
from lugx.services.reviews.models import GameDay, GameSummary, Review, ReviewVote
from lugx.services.reviews.scoring import wilson_lower_bound
from tests.conftest import database_of

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


# --- the scenarios and their data set -------------------------------------------------------


def test_the_review_scenarios_have_the_issues_targets() -> None:
    helpful, summary = BY_NAME["reviews-helpful"], BY_NAME["reviews-summary"]
    assert (helpful.target_p99_ms, summary.target_p99_ms) == (20, 5)
    for scenario in (helpful, summary):
        assert scenario.connections == 16
        assert scenario.data == "reviews"
        assert scenario.requires == "reviews"
        assert scenario.app == "embedded"
    assert reviews.BENCH_APP_ID == reviews_seed.BENCH_APP_ID  # the game the loader fills


def test_review_scenarios_are_skipped_without_the_reviews_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    modules = {"users": "lugx.services.users.app", "catalog": "lugx.services.catalog.app"}
    monkeypatch.setattr("lugx.services.SERVICE_MODULES", modules)
    chosen, skipped = runner._selected(())
    assert not {"reviews-helpful", "reviews-summary"} & {s.name for s in chosen}
    assert {"reviews-helpful", "reviews-summary"} <= {s.name for s in skipped}
    with pytest.raises(BenchError, match="needs the reviews service"):
        runner._selected(("reviews-summary",))


def prepare_reviews(root: Path) -> datasets.DataSet:
    return datasets.prepare(
        "reviews",
        None,
        games=100_000,  # the catalog scenarios' size: not the reviews data set's
        seed=42,
        root=root,
        child_env=lambda extra: dict(extra),
        say=lambda _message: None,
    )


def test_the_reviews_data_set_is_seeded_once_with_one_command_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> Any:
        calls.append(command)
        assert kwargs["env"]["LUGX_DATA_DIR"] == str(kwargs["cwd"])
        return type("Done", (), {"returncode": 0, "stdout": "seeded\n", "stderr": ""})()

    monkeypatch.setattr("lugx.bench.datasets.subprocess.run", fake_run)
    first = prepare_reviews(tmp_path)
    assert calls[0][1:] == [
        *("-m", "lugx.cli", "seed", "--games", "1000", "--seed", "42"),
        *("--reviews", "100000", "--votes", "1000000"),
    ]
    assert first.data_dir == tmp_path / "reviews-100000-1000000-seed42"
    assert "100,000 reviews and 1,000,000 votes" in first.note
    assert "seeded in" in first.note
    again = prepare_reviews(tmp_path)
    assert (again.data_dir, len(calls)) == (first.data_dir, 1)
    assert "reused" in again.note


def test_a_failed_reviews_seeding_stops_the_bench_and_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(command: list[str], **kwargs: Any) -> Any:
        return type("Done", (), {"returncode": 1, "stdout": "", "stderr": "no reviews service"})()

    monkeypatch.setattr("lugx.bench.datasets.subprocess.run", failing)
    with pytest.raises(BenchError, match="--reviews 100000 --votes 1000000 failed"):
        prepare_reviews(tmp_path)
    assert not (tmp_path / "reviews-100000-1000000-seed42" / ".seeded").exists()


class FakeReviews:
    """Just enough of the API for the setups: sign-up, the bench game bought by card, the
    player's own review (posted, flipped, deleted), the summary and the lists."""

    def __init__(self, *, headers: dict[str, str] | None = None, total: int = 100_000) -> None:
        self.headers = headers or {}
        self.total = total
        self.changes: list[Any] = []  # (method, what) of the bench player's writes
        self.reads: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if path == "/api/v1/users/register":
            return httpx.Response(201, json={})
        if path == "/api/v1/users/login":
            return httpx.Response(200, json={"access_token": "token"})
        if path == "/api/v1/catalog/games/10":
            return httpx.Response(200, json={"final_price": {"amount": 999, "currency": "USD"}})
        if request.method != "GET":
            assert request.headers["authorization"] == "Bearer token"
            self.changes.append((request.method, path, body.get("recommended")))
            if path == "/api/v1/purchases/checkout":
                return httpx.Response(201, json={"status": "paid"})
            if path == "/api/v1/reviews/games/10/reviews":
                return httpx.Response(201, json={"id": "mine"})
            return httpx.Response(204 if request.method == "DELETE" else 200, json={})
        self.reads.append(str(request.url))
        if path.endswith("/summary"):
            return httpx.Response(
                200, json={"all_time": {"total": self.total}}, headers=self.headers
            )
        return httpx.Response(200, json={"items": [{"id": "r-2"}]}, headers=self.headers)


async def run_setup(api: FakeReviews, name: str) -> Any:
    transport = httpx.MockTransport(api)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        return await BY_NAME[name].setup(http)


@pytest.mark.parametrize("name", ["reviews-helpful", "reviews-summary"])
async def test_uncached_reads_are_measured_after_changes_and_the_data_left_as_loaded(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reviews, "COLD_READS", 6)
    monkeypatch.setattr(reviews, "SETTLE_SECONDS", 0)
    api = FakeReviews()
    request = await run_setup(api, name)
    path = reviews.HELPFUL_PATH if name == "reviews-helpful" else reviews.SUMMARY_PATH
    assert (request.method, request.path, request.paths) == ("GET", path, ())
    # The bench player buys the game, reviews it, flips the review before each read (a change
    # to the counts), and deletes it at the end: the counts are back as loaded.
    assert api.changes == [
        ("POST", "/api/v1/shopping/cart/items", None),
        ("POST", "/api/v1/purchases/checkout", None),
        ("POST", "/api/v1/reviews/games/10/reviews", True),
        *[("PATCH", "/api/v1/reviews/mine", n % 2 == 1) for n in range(6)],
        ("DELETE", "/api/v1/reviews/mine", None),
    ]
    # The reads after changes carry a query string the edge cache has never seen.
    assert sum("fresh=" in read and path.split("?")[0] in read for read in api.reads) == 6
    assert "100,000 reviews" in request.note
    assert "6 reads right after a change" in request.note
    assert "p99" in request.note


@pytest.mark.parametrize(
    "headers",
    [{"x-cache": "HIT"}, {"age": "3"}, {"cache-control": "public, max-age=30"}],
)
async def test_reads_the_edge_cache_could_answer_are_refused(headers: dict[str, str]) -> None:
    api = FakeReviews(headers=headers)
    with pytest.raises(BenchError, match=r"edge cache|shareable"):
        await run_setup(api, "reviews-helpful")
    assert api.changes == []


async def test_a_game_without_reviews_is_refused() -> None:
    with pytest.raises(BenchError, match="was the reviews data set loaded"):
        await run_setup(FakeReviews(total=0), "reviews-summary")


# --- the loader -----------------------------------------------------------------------------


async def test_the_loader_picks_the_bench_game_and_replaces_its_reviews(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    from lugx.services.catalog import seed as catalog

    ctx = platform.runtimes["reviews"].ctx
    assert await reviews_seed.bench_game(ctx) is None  # an empty catalog
    await catalog.load(platform.runtimes["catalog"].ctx, catalog.generate(20, 3))
    assert await reviews_seed.bench_game(ctx) == reviews_seed.BENCH_APP_ID
    first = reviews_seed.BenchLoad(app_id=10, reviews=400, votes=5_000, seed=5)
    await reviews_seed.load_bench(ctx, first)
    assert set(first.seconds) == {"generate", "clear", "reviews", "votes", "analyze"}
    await consistent(client, platform, reviews=400, votes=5_000, revision=1)
    written: list[tuple[str, int]] = []
    again = reviews_seed.BenchLoad(app_id=10, reviews=250, votes=900, seed=6)
    await reviews_seed.load_bench(ctx, again, progress=lambda t, n: written.append((t, n)))
    assert sum(n for table, n in written if table == "reviews") == 250
    assert sum(n for table, n in written if table == "review_votes") == 900
    # The summary row was emptied, not dropped: the new summary outranks the old one.
    await consistent(client, platform, reviews=250, votes=900, revision=2)


async def consistent(
    client: httpx.AsyncClient, platform: Platform, *, reviews: int, votes: int, revision: int
) -> None:
    """Counts, each review's counters and score against its votes, the summary row and days
    against the reviews, and the API's answers against all that."""
    async with database_of(platform, "reviews").session(write=False) as session:
        rows = list((await session.execute(select(Review))).scalars())
        tallies = {
            (review_id, kind, value): n
            for review_id, kind, value, n in (
                await session.execute(
                    select(
                        ReviewVote.review_id, ReviewVote.kind, ReviewVote.value, func.count()
                    ).group_by(ReviewVote.review_id, ReviewVote.kind, ReviewVote.value)
                )
            ).all()
        }
        summary = await session.get(GameSummary, 10)
        days = (
            await session.execute(
                select(func.sum(GameDay.total), func.sum(GameDay.positive)).where(
                    GameDay.app_id == 10
                )
            )
        ).one()
    assert len(rows) == reviews
    assert {r.app_id for r in rows} == {10}
    assert len({r.author_id for r in rows}) == reviews
    assert sum(tallies.values()) == votes
    for r in rows:
        assert r.helpful_yes == tallies.get((r.id, "helpful", True), 0)
        assert r.helpful_no == tallies.get((r.id, "helpful", False), 0)
        assert r.funny == tallies.get((r.id, "funny", True), 0)
        assert r.wilson_score == wilson_lower_bound(r.helpful_yes, r.helpful_yes + r.helpful_no)
    positive = sum(r.recommended for r in rows)
    assert summary is not None
    assert (summary.total, summary.positive, summary.revision) == (reviews, positive, revision)
    assert (days[0], days[1]) == (reviews, positive)
    answer = (await client.get("/api/v1/reviews/games/10/summary")).json()
    assert (answer["all_time"]["total"], answer["all_time"]["positive"]) == (reviews, positive)
    page = (await client.get("/api/v1/reviews/games/10/reviews?sort=helpful")).json()
    best = sorted(rows, key=lambda r: (r.wilson_score, r.id), reverse=True)[:20]
    assert [item["id"] for item in page["items"]] == [str(r.id) for r in best]


# --- lugx seed --reviews --------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)  # away from any .env
    env = {
        "LUGX_DATA_DIR": str(tmp_path / "data"),
        "LUGX_LOG_LEVEL": "WARNING",
        "LUGX_PASSWORD_HASH_TIME_COST": "1",
        "LUGX_PASSWORD_HASH_MEMORY_KIB": "64",
        "LUGX_ENVIRONMENT": "test",
    }

    def invoke(*args: str, **more: str) -> Result:
        return CliRunner().invoke(main, ["seed", *args], env={**env, **more})

    return invoke


def reviews_db(data_dir: Path, query: str) -> list[Any]:
    with sqlite3.connect(data_dir / "reviews.db") as connection:
        return connection.execute(query).fetchall()


def test_seed_reviews_alone_makes_a_small_catalog_and_loads_one_game(
    run: Any, tmp_path: Path
) -> None:
    result = run("--reviews", "300", "--votes", "2000", "--seed", "4")
    assert result.exit_code == 0, result.output
    assert "catalog: 200 games" in result.output  # no catalog yet: a small one made
    assert "reviews: game 10: 300 reviews, 2,000 votes" in result.output
    assert "rows/s" in result.output
    data = tmp_path / "data"
    assert reviews_db(data, "SELECT app_id, count(*) FROM reviews GROUP BY app_id") == [(10, 300)]
    assert reviews_db(data, "SELECT count(*) FROM review_votes") == [(2000,)]
    counters = "SELECT sum(helpful_yes + helpful_no + funny), sum(recommended) FROM reviews"
    [(voted, positive)] = reviews_db(data, counters)
    assert voted == 2000
    summary = "SELECT total, positive FROM review_summaries WHERE app_id = 10"
    assert reviews_db(data, summary) == [(300, positive)]
    # Again on the catalog now there: ten votes a review by default, the game's reviews replaced.
    again = run("--reviews", "120")
    assert again.exit_code == 0, again.output
    assert "catalog:" not in again.output
    assert reviews_db(data, "SELECT count(*) FROM reviews") == [(120,)]
    assert reviews_db(data, "SELECT count(*) FROM review_votes") == [(1200,)]
    assert reviews_db(data, "SELECT total, revision FROM review_summaries") == [(120, 2)]


def test_seed_reviews_after_games_in_one_command(run: Any, tmp_path: Path) -> None:
    result = run("--games", "30", "--reviews", "50", "--votes", "100")
    assert result.exit_code == 0, result.output
    assert "catalog: 30 games" in result.output
    assert reviews_db(tmp_path / "data", "SELECT count(*) FROM review_votes") == [(100,)]


def test_votes_go_with_reviews_and_production_is_refused(run: Any, tmp_path: Path) -> None:
    alone = run("--votes", "10")
    assert alone.exit_code == 2
    assert "--votes goes with --reviews" in alone.output
    production = run("--reviews", "10", LUGX_ENVIRONMENT="production")
    assert production.exit_code == 2
    assert not (tmp_path / "data" / "reviews.db").exists()
