"""Bad input to search: unknown or repeated parameters, unknown values, impossible prices and
dates, tampered or foreign cursors, huge texts, FTS syntax and HTML. Each is a clear problem or
plain words, never an error of ours."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from lugx.platform.db import Database
from tests.catalog.search_factories import (
    SEARCH,
    GameSpec,
    add_games,
    problem,
    search,
    titles,
)


def fields(body: dict[str, object]) -> list[object]:
    """The query parameters a problem names (a list parameter's item is `name.index`)."""
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [str(error["field"]).split(".")[0] for error in errors]


async def refused_naming(client: httpx.AsyncClient, params: dict[str, Any], field: str) -> None:
    """A search with these parameters is a 422 that names `field`."""
    status, body = await problem(client, SEARCH, params)
    assert status == 422
    assert field in fields(body)


async def test_an_unknown_parameter_is_refused_by_name(client: httpx.AsyncClient) -> None:
    status, body = await problem(client, SEARCH, {"q": "x", "colour": "red"})
    assert status == 400
    assert body["type"].endswith("/unknown-parameter")
    assert "colour" in body["detail"]
    assert fields(body) == ["colour"]
    status, body = await problem(client, SEARCH, {"genres": "rpg"})  # a near miss of "genre"
    assert (status, fields(body)) == (400, ["genres"])


async def test_a_repeated_single_value_parameter_is_refused(client: httpx.AsyncClient) -> None:
    status, body = await problem(client, SEARCH, [("q", "a"), ("q", "b")])
    assert (status, fields(body)) == (400, ["q"])
    assert body["type"].endswith("/repeated-parameter")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "best"}, "sort"),
        ({"sort": ""}, "sort"),
        ({"platform": "amiga"}, "platform"),
        ({"feature": "telepathy"}, "feature"),
        ({"type": "movie"}, "type"),
        ({"genre": "Not A Slug!"}, "genre"),
        ({"tag": "x" * 61}, "tag"),
        ({"price_min": "-1"}, "price_min"),
        ({"price_max": "-500"}, "price_max"),
        ({"price_max": str(10**12)}, "price_max"),
        ({"price_min": "cheap"}, "price_min"),
        ({"on_sale": "maybe"}, "on_sale"),
        ({"free": "2"}, "free"),
        ({"released_after": "yesterday"}, "released_after"),
        ({"released_before": "2024-02-30"}, "released_before"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"facets": "please"}, "facets"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"cursor": "c" * 513}, "cursor"),
    ],
)
async def test_a_bad_value_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    await refused_naming(client, params, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"price_min": "2000", "price_max": "1000"}, "price_min"),
        ({"released_after": "2024-01-02", "released_before": "2024-01-01"}, "released_after"),
        ({"genre": ["rpg"] * 11}, "genre"),
        ({"platform": ["mac"] * 11}, "platform"),
    ],
)
async def test_contradictory_or_too_many_filters_are_a_422(
    client: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    await refused_naming(client, params, field)


@pytest.mark.parametrize("q", [None, "", "   ", "*"])
async def test_relevance_without_words_is_a_400(client: httpx.AsyncClient, q: str | None) -> None:
    params = {"sort": "relevance"} | ({"q": q} if q is not None else {})
    status, body = await problem(client, SEARCH, params)
    assert status == 400
    assert body["type"].endswith("/relevance-without-q")


async def test_a_query_longer_than_200_characters_is_a_422(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(db, GameSpec("Long Story"))
    for length in (201, 10_000):
        status, body = await problem(client, SEARCH, {"q": "a" * length})
        assert (status, fields(body)) == (422, ["q"])
    assert await titles(client, q="long " + "x" * 195) == []  # 200: searched, no match


# --- cursors ------------------------------------------------------------------------------------


async def _first_cursor(client: httpx.AsyncClient, **params: object) -> str:
    page = await search(client, limit=1, **params)
    cursor = page["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


async def test_a_tampered_cursor_is_a_400(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("First", popularity=2), GameSpec("Second", popularity=1))
    cursor = await _first_cursor(client)
    body, _, signature = cursor.partition(".")
    decoded = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    decoded["k"] = [10**6, 0]  # move the position
    forged = base64.urlsafe_b64encode(orjson.dumps(decoded)).rstrip(b"=").decode()
    for bad in (f"{forged}.{signature}", cursor[:-2], "garbage", ".", cursor + "x"):
        status, problem_body = await problem(client, SEARCH, {"cursor": bad})
        assert status == 400, bad
        assert problem_body["type"].endswith("/invalid-cursor")
    assert len((await search(client, cursor=cursor))["items"]) == 1


async def test_a_cursor_from_another_search_is_a_400(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        *(GameSpec(f"Rocket {n}", genres=["action"], price=100 * n) for n in range(1, 4)),
    )
    cursor = await _first_cursor(client, q="rocket")
    for other in (
        {"q": "rock"},
        {"q": "rocket", "genre": "action"},
        {"q": "rocket", "sort": "price"},
        {"q": "rocket", "price_max": "1000"},
        {"q": "rocket", "on_sale": "false"},
        {},
    ):
        status, body = await problem(client, SEARCH, {**other, "cursor": cursor})
        assert status == 400, other
        assert body["type"].endswith("/cursor-mismatch")
    # The page size, facets and currency may change between pages: they do not change the order.
    page = await search(client, q="Rocket", cursor=cursor, limit=5, facets="true", currency="EUR")
    assert [item["title"] for item in page["items"]] == ["Rocket 2", "Rocket 3"]


# --- text that looks like syntax ------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '""',
        '"unclosed phrase',
        "*",
        "ne*",
        "NEAR",
        "NEAR(near far)",
        "near/2",
        "OR",
        "AND",
        "NOT",
        "a OR b",
        "-near",
        "title:near",
        "{title}: near",
        "(near",
        "near)",
        "^near",
        "near + far",
        "'; DROP TABLE games; --",
        "\\",
        "\x00",
        "🎮 near",
        "near & far | !far <-> far:*",
    ],
)
async def test_query_syntax_in_q_is_plain_words(
    client: httpx.AsyncClient, db: Database, q: str
) -> None:
    await add_games(db, GameSpec("Near and Far", popularity=2), GameSpec("Or Else", popularity=1))
    response = await client.get(SEARCH, params={"q": q})
    assert response.status_code == 200, response.text
    response = await client.get(SEARCH, params={"q": q, "facets": "true", "sort": "price"})
    assert response.status_code == 200, response.text


async def test_operators_are_searched_as_the_words_they_are(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("Near and Far", popularity=3),
        GameSpec("Or Else", popularity=2),
        GameSpec("Not Today", popularity=1),
    )
    assert await titles(client, q="NEAR") == ["Near and Far"]
    assert await titles(client, q="or") == ["Or Else"]
    assert await titles(client, q='"near" OR "else"') == []  # every word must match
    assert await titles(client, q="NOT today") == ["Not Today"]
    assert await titles(client, q="near*") == ["Near and Far"]
    assert await titles(client, q="title:far") == []  # no field "title" word in any game
    assert await titles(client, q="(and) far") == ["Near and Far"]


async def test_html_in_q_and_in_titles_is_only_text(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(db, GameSpec("<b>Bold</b> Script Alert"), GameSpec("Plain"))
    assert await titles(client, q="<script>alert</script>") == ["<b>Bold</b> Script Alert"]
    assert await titles(client, q="<script>alert(1)</script>") == []  # "1" is a word too
    response = await client.get(SEARCH, params={"q": "<b>"})
    assert response.headers["content-type"] == "application/json"
    assert [item["title"] for item in response.json()["items"]] == ["<b>Bold</b> Script Alert"]
