"""The generated catalog (`lugx seed --games N`, the quick start's demo catalog): the same seed
gives the same catalog, what it holds looks like a store, and it loads into the database whole."""

from __future__ import annotations

import collections
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text

from lugx.cli import main
from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Conflict
from lugx.platform.review_scores import review_description, review_score
from lugx.services.catalog import repository
from lugx.services.catalog import seed as catalog_seed
from lugx.services.catalog.models import Game, Tag
from lugx.services.catalog.seed import CatalogData, generate, load
from lugx.services.catalog.taxonomy import GENRES
from tests.conftest import database_of

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # midday of TODAY, when a player looks


@pytest.fixture(scope="module")
def catalog() -> CatalogData:
    return generate(3000, 11, today=TODAY)


def fraction(part: int, whole: int) -> float:
    return part / whole


# --- determinism ----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_catalog() -> None:
    first = generate(300, 5, today=TODAY)
    second = generate(300, 5, today=TODAY)
    assert first.digest() == second.digest()
    assert first.games == second.games
    assert first.game_tags == second.game_tags


def test_another_seed_size_or_day_gives_another_catalog() -> None:
    digest = generate(300, 5, today=TODAY).digest()
    assert generate(300, 6, today=TODAY).digest() != digest
    assert generate(301, 5, today=TODAY).digest() != digest
    assert generate(300, 5, today=TODAY + timedelta(days=1)).digest() != digest


def test_the_catalog_does_not_depend_on_the_process() -> None:
    """Nothing in the generator may follow hash order (it changes with every interpreter)."""
    code = (
        "from datetime import date; from lugx.services.catalog.seed import generate; "
        "print(generate(300, 5, today=date(2026, 11, 21)).digest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == generate(300, 5, today=TODAY).digest()


def test_it_needs_at_least_one_game() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(0, 1)


# --- what it holds --------------------------------------------------------------------------


def test_rows_match_their_tables(catalog: CatalogData) -> None:
    for table, rows in catalog.tables():
        assert rows, table.name
        assert set(rows[0]._fields) == set(table.c.keys()), table.name


def test_ids_app_ids_and_slugs_are_unique(catalog: CatalogData) -> None:
    games = catalog.games
    assert len({g.id for g in games}) == len(games)
    assert len({g.app_id for g in games}) == len(games)
    assert len({g.slug for g in games}) == len(games)
    assert all(g.app_id % 10 == 0 for g in games)  # as the service hands them out
    assert sorted(n.id * 10 for n in catalog.app_numbers) == sorted(g.app_id for g in games)
    assert len({p.slug for p in catalog.publishers}) == len(catalog.publishers)
    assert len({d.id for d in catalog.discounts}) == len(catalog.discounts)


def test_every_game_is_a_published_listing(catalog: CatalogData) -> None:
    midnight = datetime(2026, 11, 21, tzinfo=UTC)
    for game in catalog.games:
        assert game.status == "published"
        assert game.published_at is not None
        assert game.published_at <= midnight
        assert game.created_at <= game.updated_at
        assert 0 < len(game.title) <= 200
        assert 0 < len(game.short_description) <= 500
        assert game.developers
        assert "English" in game.supported_languages
        assert game.platforms_mask > 0
        assert game.header_image == f"/api/v1/catalog/media/{game.app_id}/header.svg"
        assert all(
            shot == f"/api/v1/catalog/media/{game.app_id}/screenshot-{n}.svg"
            for n, shot in enumerate(game.screenshots, start=1)
        )
        assert game.trailers == []


def test_the_mix_of_items(catalog: CatalogData) -> None:
    kinds = collections.Counter(g.type for g in catalog.games)
    assert kinds["game"] == 3000
    assert 0.15 < fraction(kinds["dlc"], 3000) < 0.35
    assert 0.02 < fraction(kinds["soundtrack"], 3000) < 0.09
    assert kinds["bundle"] == 30  # 1 %
    assert 40 <= len(catalog.publishers) <= 80  # about one per 50 games


def test_publishers_are_rows_and_named_on_their_games(catalog: CatalogData) -> None:
    publishers = {p.id: p.name for p in catalog.publishers}
    for game in catalog.games:
        assert publishers[game.publisher_id] == game.publisher_name


def test_dlc_extend_real_base_games_released_before_them(catalog: CatalogData) -> None:
    by_id = {g.id: g for g in catalog.games}
    games = [g for g in catalog.games if g.type == "game"]
    dlc = [g for g in catalog.games if g.type == "dlc"]
    per_base = collections.Counter(d.base_game_id for d in dlc)
    for item in dlc:
        base = by_id[item.base_game_id]  # type: ignore[index]
        assert base.type == "game"
        assert base.release_date < item.release_date  # type: ignore[operator]
        assert base.app_id < item.app_id  # inserted (and numbered) after their base game
    assert all(1 <= count <= 5 for count in per_base.values())
    assert 0.06 < fraction(len(per_base), len(games)) < 0.15
    assert all(g.base_game_id is None for g in catalog.games if g.type != "dlc")


def test_bundles_hold_two_to_five_real_items(catalog: CatalogData) -> None:
    by_id = {g.id: g for g in catalog.games}
    items = collections.defaultdict(list)
    for row in catalog.bundle_items:
        items[row.bundle_id].append(row)
    bundles = [g for g in catalog.games if g.type == "bundle"]
    assert set(items) == {b.id for b in bundles}
    for bundle in bundles:
        parts = [by_id[row.item_id] for row in sorted(items[bundle.id], key=lambda r: r.position)]
        assert 2 <= len(parts) <= 5
        assert all(part.type != "bundle" for part in parts)
        assert len({p.id for p in parts}) == len(parts)
        assert {p.publisher_id for p in parts} == {bundle.publisher_id}
        assert 10 <= bundle.bundle_discount_percent <= 40
        assert bundle.base_price == sum(p.base_price for p in parts)


def test_prices_follow_the_tiers(catalog: CatalogData) -> None:
    games = [g for g in catalog.games if g.type == "game"]
    tiers = {0, 499, 999, 1499, 1999, 2499, 2999, 3999, 4999, 5999, 6999}
    assert {g.base_price for g in games} <= tiers
    assert all(g.base_price >= 0 for g in catalog.games)
    assert 0.04 < fraction(sum(g.base_price == 0 for g in games), len(games)) < 0.13
    by_id = {g.id: g for g in catalog.games}
    currencies = collections.defaultdict(set)
    for price in catalog.game_prices:
        assert price.amount > 0
        assert by_id[price.game_id].base_price > 0
        assert by_id[price.game_id].type != "bundle"
        currencies[price.game_id].add(price.currency)
    assert currencies
    assert all(found == {"EUR", "GBP"} for found in currencies.values())


def test_discounts_are_valid_and_about_fifteen_percent_run_now(catalog: CatalogData) -> None:
    by_id = {g.id: g for g in catalog.games}
    for discount in catalog.discounts:
        assert 10 <= discount.percent <= 90
        assert discount.percent % 5 == 0
        assert discount.starts_at < discount.ends_at
        assert discount.ends_at - discount.starts_at <= timedelta(days=90)
        assert by_id[discount.game_id].base_price > 0
        assert discount.cancelled_at is None
        # Already announced: what started or ended before the seed makes no events.
        assert discount.start_announced == (discount.starts_at <= NOW)
        assert discount.end_announced == (discount.ends_at <= NOW)
    games = [g for g in catalog.games if g.type == "game"]
    on_sale = [
        g
        for g in games
        if g.discount_percent is not None and g.discount_starts_at <= NOW < g.discount_ends_at  # type: ignore[operator]
    ]
    assert 0.09 < fraction(len(on_sale), len(games)) < 0.22
    # Some sales end within days.
    assert any(g.discount_ends_at - NOW < timedelta(days=3) for g in on_sale)  # type: ignore[operator]


def test_the_game_row_mirrors_the_running_or_next_discount(catalog: CatalogData) -> None:
    upcoming = collections.defaultdict(list)
    for discount in catalog.discounts:
        if discount.ends_at > NOW:
            upcoming[discount.game_id].append(discount)
    for game in catalog.games:
        if game.id not in upcoming:
            assert game.discount_percent is None
            continue
        current = min(upcoming[game.id], key=lambda d: d.starts_at)
        assert (game.discount_percent, game.discount_starts_at, game.discount_ends_at) == (
            current.percent,
            current.starts_at,
            current.ends_at,
        )


def test_release_dates_span_twenty_years_and_some_are_still_to_come(
    catalog: CatalogData,
) -> None:
    games = [g for g in catalog.games if g.type == "game"]
    dates = [g.release_date for g in games]
    assert all(d is not None for d in dates)
    assert min(dates) < TODAY - timedelta(days=365 * 15)  # type: ignore[operator]
    recent = sum(d > TODAY - timedelta(days=365 * 5) for d in dates)  # type: ignore[operator]
    assert recent > len(games) / 2  # more releases every year
    for game in games:
        assert game.coming_soon == (game.release_date > TODAY)  # type: ignore[operator]
    coming = [g for g in games if g.coming_soon]
    assert 0.01 < fraction(len(coming), len(games)) < 0.06
    assert all(g.review_total == 0 for g in coming)


def test_popularity_is_a_power_law_and_reviews_follow_it(catalog: CatalogData) -> None:
    games = sorted(
        (g for g in catalog.games if g.type == "game"), key=lambda g: g.popularity, reverse=True
    )
    total = sum(g.popularity for g in games)
    assert sum(g.popularity for g in games[:30]) > total / 3  # the top 1 % hold a third
    top = median(g.review_total for g in games[:300])
    rest = median(g.review_total for g in games[1500:])
    assert top > 10 * max(rest, 1)
    for game in catalog.games:
        assert 0 <= game.review_positive <= game.review_total
        assert game.review_score == review_score(game.review_total, game.review_positive)
        assert game.review_description == review_description(
            game.review_total, game.review_positive
        )
    descriptions = {g.review_description for g in games}
    assert {"Very Positive", "Mostly Positive", "Mixed"} <= descriptions


def test_genres_and_tags_go_together(catalog: CatalogData) -> None:
    genre_of = {g.id: g.slug for g in catalog.genres}
    tag_of = {t.id: t.slug for t in catalog.tags}
    assert set(genre_of.values()) == set(GENRES)
    assert 250 <= len(tag_of) <= 350
    genres = collections.defaultdict(list)
    for row in catalog.game_genres:
        genres[row.game_id].append(genre_of[row.genre_id])
    tags = collections.defaultdict(list)
    for row in catalog.game_tags:
        assert row.votes >= 1
        tags[row.game_id].append(tag_of[row.tag_id])
    for game in catalog.games:
        assert 1 <= len(genres[game.id]) <= 6
        assert len(tags[game.id]) == len(set(tags[game.id])) <= 20
        if game.type == "game":
            assert len(tags[game.id]) >= 5
    # Co-occurrence: a horror game is tagged like one, a racing game like one.
    horror = [g for g in catalog.games if genres[g.id][0] == "horror" and g.type == "game"]
    assert horror
    assert all(tags[g.id][0] == "horror" for g in horror)
    scary = {"survival-horror", "psychological-horror", "gore", "dark", "jump-scare"}
    assert fraction(sum(bool(scary & set(tags[g.id])) for g in horror), len(horror)) > 0.5


def test_descriptions_mention_genre_and_tags(catalog: CatalogData) -> None:
    game = next(g for g in catalog.games if g.type == "game" and not g.coming_soon)
    assert game.short_description in game.long_description
    assert "Features:" in game.long_description
    assert game.title in game.long_description


def test_a_handful_of_recent_hits_are_featured(catalog: CatalogData) -> None:
    featured = [g for g in catalog.games if g.is_featured]
    assert 3 <= len(featured) <= 12
    assert all(g.type == "game" and not g.coming_soon for g in featured)


# --- review descriptions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "positive", "expected"),
    [
        (9, 9, None),
        (10, 10, "Positive"),
        (49, 40, "Positive"),
        (50, 40, "Very Positive"),
        (499, 499, "Very Positive"),
        (500, 475, "Overwhelmingly Positive"),
        (500, 474, "Very Positive"),  # 94.8 %: not yet 95
        (100, 79, "Mostly Positive"),
        (100, 70, "Mostly Positive"),
        (100, 69, "Mixed"),
        (100, 40, "Mixed"),
        (100, 39, "Mostly Negative"),
        (100, 20, "Mostly Negative"),
        (49, 9, "Negative"),
        (50, 9, "Very Negative"),
        (500, 99, "Overwhelmingly Negative"),
        (500, 0, "Overwhelmingly Negative"),
    ],
)
def test_review_descriptions_follow_steams_scale(
    total: int, positive: int, expected: str | None
) -> None:
    assert review_description(total, positive) == expected


def test_review_scores_round_down_and_need_ten_reviews() -> None:
    assert review_score(9, 9) is None
    assert review_score(1000, 949) == 94
    assert review_score(10, 0) == 0
    with pytest.raises(ValueError, match="between 0 and the total"):
        review_score(10, 11)


# --- loading --------------------------------------------------------------------------------


async def test_a_load_writes_every_row(platform: Platform) -> None:
    db = database_of(platform, "catalog")
    data = generate(300, 3, today=TODAY)
    written: collections.Counter[str] = collections.Counter()
    report = await load(db, data, progress=lambda table, rows: written.update({table: rows}))
    assert report.rows == data.counts()
    assert dict(written) == {table: rows for table, rows in data.counts().items() if rows}
    async with db.session(write=False) as session:
        for table, rows in data.tables():
            count = await session.execute(select(func.count()).select_from(table))
            assert count.scalar_one() == len(rows), table.name
        expected = data.games[-1]
        stored = (await session.execute(select(Game).where(Game.id == expected.id))).scalar_one()
    for name in expected._fields:
        assert getattr(stored, name) == getattr(expected, name), name


async def test_ids_handed_out_after_a_load_come_after_the_seeded_ones(
    platform: Platform,
) -> None:
    db = database_of(platform, "catalog")
    data = generate(50, 3, today=TODAY)
    await load(db, data)
    async with db.session() as session:
        assert await repository.next_app_id(session) == max(g.app_id for g in data.games) + 10
        [tag] = await repository.tags_for(session, ["a-brand-new-tag"])
        assert tag.id == max(t.id for t in data.tags) + 1


async def test_a_load_refuses_a_catalog_that_has_games(platform: Platform) -> None:
    db = database_of(platform, "catalog")
    await load(db, generate(30, 1, today=TODAY))
    with pytest.raises(Conflict, match="already has games"):
        await load(db, generate(30, 2, today=TODAY))
    await catalog_seed.clear(db)
    assert await catalog_seed.count_games(db) == 0
    report = await load(db, generate(30, 2, today=TODAY))
    assert report.rows["games"] == await catalog_seed.count_games(db)


async def test_existing_genres_and_tags_are_reused(platform: Platform) -> None:
    db = database_of(platform, "catalog")
    async with db.session() as session:
        await repository.tags_for(session, ["singleplayer", "made-up"])
        await repository.genres_for(session, ["rpg"])
    data = generate(40, 4, today=TODAY)
    report = await load(db, data)
    assert report.rows["tags"] == len(data.tags) - 1
    assert report.rows["genres"] == len(data.genres) - 1
    async with db.session(write=False) as session:
        tags = (await session.execute(select(func.count()).select_from(Tag))).scalar_one()
        assert tags == len(data.tags) + 1
        singleplayer_games = await session.execute(
            text(
                "SELECT count(*) FROM game_tags JOIN tags ON tags.id = game_tags.tag_id "
                "WHERE tags.slug = 'singleplayer'"
            )
        )
    single = next(t.id for t in data.tags if t.slug == "singleplayer")
    assert singleplayer_games.scalar_one() == sum(r.tag_id == single for r in data.game_tags)


async def test_sqlite_gets_its_durability_setting_back(platform: Platform) -> None:
    db = database_of(platform, "catalog")
    if not db.sqlite:
        pytest.skip("a SQLite setting")
    await load(db, generate(20, 1, today=TODAY))
    async with db.session() as session:
        synchronous = (await session.execute(text("PRAGMA synchronous"))).scalar_one()
    assert synchronous == 1  # NORMAL, as the kit sets it


async def test_the_demo_catalog_is_loaded_once_and_only_into_an_empty_catalog(
    platform: Platform,
) -> None:
    ctx = platform.runtimes["catalog"].ctx
    await catalog_seed.seed_demo(ctx)
    count = await catalog_seed.count_games(ctx)
    assert count > catalog_seed.DEMO_GAMES  # the games and their DLC, soundtracks, bundles
    await catalog_seed.seed_demo(ctx)
    assert await catalog_seed.count_games(ctx) == count


# --- lugx seed --games ----------------------------------------------------------------------


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

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["seed", *args], env=env)

    return invoke


def games_in(data_dir: Path) -> collections.Counter[str]:
    with sqlite3.connect(data_dir / "catalog.db") as connection:
        rows = connection.execute("SELECT type, count(*) FROM games GROUP BY type").fetchall()
    return collections.Counter(dict(rows))


def test_seed_games_migrates_and_loads_a_generated_catalog(run: Any, tmp_path: Path) -> None:
    result = run("--games", "40", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "catalog: 40 games" in result.output
    assert "rows/s" in result.output
    assert games_in(tmp_path / "data")["game"] == 40


def test_seed_games_never_loads_over_a_catalog_unless_told_to(run: Any, tmp_path: Path) -> None:
    assert run("--games", "30").exit_code == 0
    again = run("--games", "30")
    assert again.exit_code == 1
    assert "pass --replace" in again.output
    replaced = run("--games", "20", "--seed", "9", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert games_in(tmp_path / "data")["game"] == 20


def test_replace_goes_with_games(run: Any) -> None:
    result = run("--replace")
    assert result.exit_code == 2
    assert "--replace goes with --games" in result.output
