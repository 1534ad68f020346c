"""Search-as-you-type: titles whose words start with what was typed, typos forgiven, the most
popular first, and short-lived public caching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from lugx.platform.db import Database
from tests.catalog.search_factories import (
    SUGGEST,
    GameSpec,
    Sale,
    add_game,
    add_games,
    problem,
    suggestions,
    update_game,
)


async def test_title_words_starting_with_the_typed_text_most_popular_first(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("The Witcher 3: Wild Hunt", popularity=900),
        GameSpec("Witch It", popularity=300),
        GameSpec("Little Witch Academia", popularity=500),
        GameSpec("Twitch Reflex", popularity=999),  # "witch" inside a word: not a start
        GameSpec("Cauldron", tags=["witches"], popularity=800),  # a tag, not the title
    )
    assert await suggestions(client, "wit") == [
        "The Witcher 3: Wild Hunt",
        "Little Witch Academia",
        "Witch It",
    ]
    assert await suggestions(client, "w") == [
        "The Witcher 3: Wild Hunt",
        "Little Witch Academia",
        "Witch It",
    ]
    assert await suggestions(client, "the wi") == ["The Witcher 3: Wild Hunt"]
    assert await suggestions(client, "witch it") == ["Witch It"]


async def test_typos_are_forgiven(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("The Witcher 3: Wild Hunt"), GameSpec("Cyberpunk 2077"))
    assert await suggestions(client, "wicher") == ["The Witcher 3: Wild Hunt"]
    assert await suggestions(client, "cybrpunk") == ["Cyberpunk 2077"]
    assert await suggestions(client, "qwzx") == []


async def test_limit_and_empty_text(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, *(GameSpec(f"Galaxy {n}", popularity=n) for n in range(12)))
    assert len(await suggestions(client, "gal")) == 8
    assert await suggestions(client, "gal", limit=2) == ["Galaxy 11", "Galaxy 10"]
    assert len(await suggestions(client, "gal", limit=10)) == 10
    assert await suggestions(client, "") == []
    assert await suggestions(client, "  -- ") == []


async def test_only_published_games_are_suggested(client: httpx.AsyncClient, db: Database) -> None:
    await add_game(db, GameSpec("Secret Draft", status="draft"))
    shown = await add_game(db, GameSpec("Secret Garden"))
    assert await suggestions(client, "secret") == ["Secret Garden"]
    await update_game(db, shown.app_id, status="unpublished")
    assert await suggestions(client, "secre") == []


async def test_lines_and_caching_headers(client: httpx.AsyncClient, db: Database) -> None:
    await add_game(db, GameSpec("Sale Now", price=1000, sale=Sale.running(40)))
    response = await client.get(SUGGEST, params={"q": "sale"})
    assert response.status_code == 200
    [line] = response.json()["items"]
    assert set(line) == {"app_id", "title", "slug", "header_image", "final_price"}
    assert line["final_price"] == {"amount": 600, "currency": "USD"}
    assert response.headers["cache-control"] == "public, max-age=30"
    etag = response.headers["etag"]
    again = await client.get(SUGGEST, params={"q": "sale"}, headers={"if-none-match": etag})
    assert again.status_code == 304


async def test_a_price_about_to_change_shortens_the_cache(
    client: httpx.AsyncClient, db: Database
) -> None:
    now = datetime.now(UTC)
    ending = Sale(50, now - timedelta(hours=1), now + timedelta(seconds=12))
    await add_game(db, GameSpec("Flash Deal", sale=ending))
    response = await client.get(SUGGEST, params={"q": "flash"})
    max_age = int(response.headers["cache-control"].rpartition("=")[2])
    assert 0 <= max_age <= 12


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"q": "a", "limit": "0"}, 422, "limit"),
        ({"q": "a", "limit": "11"}, 422, "limit"),
        ({"q": "a" * 201}, 422, "q"),
        ({"q": "a", "genre": "rpg"}, 400, "genre"),
    ],
)
async def test_bad_input(
    client: httpx.AsyncClient, params: dict[str, str], status: int, field: str
) -> None:
    got, body = await problem(client, SUGGEST, params)
    assert got == status
    assert field in [error["field"] for error in body["errors"]]


@pytest.mark.parametrize("q", ['"', "*", "NEAR(", "OR", "a:b", "<script>", "\\'"])
async def test_syntax_is_plain_words(client: httpx.AsyncClient, db: Database, q: str) -> None:
    await add_game(db, GameSpec("Ordinary Near Game"))
    response = await client.get(SUGGEST, params={"q": q})
    assert response.status_code == 200, response.text
