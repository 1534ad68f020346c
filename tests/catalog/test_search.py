"""Search through the gateway: words, prefixes, typos, relevance, filters, sorts, cursor pages,
facets, and the index following the games. The same tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from lugx.platform.db import Database
from tests.catalog.search_factories import (
    GameSpec,
    Sale,
    add_game,
    add_games,
    clear,
    delete_game,
    every_page,
    forget_typo_table,
    rebuild,
    search,
    titles,
    update_game,
)

# --- words, prefixes, typos -------------------------------------------------------------------


async def test_a_word_finds_games_by_title_tag_developer_and_publisher(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("Starfield Odyssey"),
        GameSpec("Quiet Farm", tags=["starfield-lovers"]),
        GameSpec("Mine Deep", developers=["Starfield Works"]),
        GameSpec("Harbour Tales", publisher="Starfield Press"),
        GameSpec("Nothing Here"),
    )
    found = await titles(client, q="starfield")
    assert sorted(found) == ["Harbour Tales", "Mine Deep", "Quiet Farm", "Starfield Odyssey"]


async def test_every_word_must_match(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("Dark Souls"), GameSpec("Dark Forest"), GameSpec("Lost Souls"))
    assert await titles(client, q="dark souls") == ["Dark Souls"]
    assert await titles(client, q="souls dark") == ["Dark Souls"]


async def test_a_word_matches_as_a_prefix(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("The Witcher 3: Wild Hunt"), GameSpec("Wild Meadow"))
    assert await titles(client, q="witc") == ["The Witcher 3: Wild Hunt"]
    assert await titles(client, q="the witc wil") == ["The Witcher 3: Wild Hunt"]
    assert sorted(await titles(client, q="wil")) == ["The Witcher 3: Wild Hunt", "Wild Meadow"]


async def test_a_misspelt_word_still_finds_the_game(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("The Witcher 3: Wild Hunt", popularity=900),
        GameSpec("Cyberpunk 2077", popularity=800),
        GameSpec("Stardew Valley", developers=["ConcernedApe"]),
        GameSpec("Gardening Simulator"),
    )
    assert await titles(client, q="wicher") == ["The Witcher 3: Wild Hunt"]  # a letter missing
    assert await titles(client, q="witcehr") == ["The Witcher 3: Wild Hunt"]  # two swapped
    assert await titles(client, q="cybrpunk") == ["Cyberpunk 2077"]
    assert await titles(client, q="cyberpnuk 2077") == ["Cyberpunk 2077"]
    assert await titles(client, q="cybepunkk") == ["Cyberpunk 2077"]  # two edits, a long word
    assert await titles(client, q="stardwe valey") == ["Stardew Valley"]
    assert await titles(client, q="concernedape") == ["Stardew Valley"]
    assert await titles(client, q="concernedaep") == ["Stardew Valley"]


async def test_typos_are_not_stretched_to_anything(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("Cyberpunk 2077"), GameSpec("Portal"))
    assert await titles(client, q="cyborg") == []  # too far from any word
    assert await titles(client, q="prt") == []  # three letters: taken as typed
    assert await titles(client, q="2078") == []  # numbers are never corrected
    assert await titles(client, q="portal zzzzzz") == []  # every word must match


async def test_diacritics_and_case_do_not_matter(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("Pokémon Café Mix"), GameSpec("Über Élan"))
    assert await titles(client, q="pokemon cafe") == ["Pokémon Café Mix"]
    assert await titles(client, q="POKÉMON") == ["Pokémon Café Mix"]
    assert await titles(client, q="uber ELAN") == ["Über Élan"]


async def test_empty_or_blank_q_is_no_text_search(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(db, GameSpec("One", popularity=2), GameSpec("Two", popularity=1))
    assert await titles(client, q="") == ["One", "Two"]
    assert await titles(client, q="   ") == ["One", "Two"]
    assert await titles(client, q=" - * ") == ["One", "Two"]


# --- relevance ----------------------------------------------------------------------------------


async def test_relevance_ranks_title_words_then_title_prefixes_then_the_rest(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("Dragonfly Derby", popularity=5000),  # a title word starts with it
        GameSpec("Castle Siege", tags=["dragon"], popularity=9000),  # only a tag
        GameSpec("Dragon Tales", popularity=10),  # a whole title word
        GameSpec("Pure Dragon", popularity=20),  # a whole title word, more popular
        GameSpec("Farm Life", developers=["Dragonsoft"], popularity=7000),  # a developer
    )
    assert await titles(client, q="dragon") == [
        "Pure Dragon",
        "Dragon Tales",
        "Dragonfly Derby",
        "Castle Siege",
        "Farm Life",
    ]
    # The default sort with q is relevance; without q, top sellers.
    assert await titles(client, q="dragon", sort="relevance") == await titles(client, q="dragon")
    assert await titles(client, sort="top_sellers") == await titles(client)


async def test_relevance_ties_go_to_the_lower_app_id(
    client: httpx.AsyncClient, db: Database
) -> None:
    games = await add_games(db, *(GameSpec(f"Moon Base {n}", popularity=7) for n in range(3)))
    page = await search(client, q="moon")
    assert [item["app_id"] for item in page["items"]] == sorted(g.app_id for g in games)


# --- filters ------------------------------------------------------------------------------------


async def test_genre_and_tag_filters_need_every_value(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("A", genres=["rpg"], tags=["open-world", "co-op"], popularity=3),
        GameSpec("B", genres=["rpg", "strategy"], tags=["open-world"], popularity=2),
        GameSpec("C", genres=["strategy"], tags=["co-op"], popularity=1),
    )
    assert await titles(client, genre="rpg") == ["A", "B"]
    assert await titles(client, genre=["rpg", "strategy"]) == ["B"]
    assert await titles(client, tag="open-world") == ["A", "B"]
    assert await titles(client, tag=["open-world", "co-op"]) == ["A"]
    assert await titles(client, genre="strategy", tag="open-world") == ["B"]
    assert await titles(client, genre="no-such-genre") == []
    assert await titles(client, tag="no-such-tag") == []


async def test_platforms_are_any_of_and_features_all_of(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("Win", platforms=["windows"], features=["single_player"], popularity=4),
        GameSpec("Mac", platforms=["mac"], features=["co_op", "controller"], popularity=3),
        GameSpec("Lin", platforms=["linux", "windows"], features=["co_op"], popularity=2),
    )
    assert await titles(client, platform="linux") == ["Lin"]
    assert await titles(client, platform=["mac", "linux"]) == ["Mac", "Lin"]
    assert await titles(client, feature="co_op") == ["Mac", "Lin"]
    assert await titles(client, feature=["co_op", "controller"]) == ["Mac"]
    assert await titles(client, q="lin", platform="mac") == []


async def test_type_filter(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(
        db,
        GameSpec("Base Game", popularity=3),
        GameSpec("Base Game Soundtrack", type="soundtrack", popularity=2),
        GameSpec("Base Game Expansion", type="dlc", popularity=1),
    )
    assert await titles(client, q="base", type="dlc") == ["Base Game Expansion"]
    assert await titles(client, type=["game", "soundtrack"]) == [
        "Base Game",
        "Base Game Soundtrack",
    ]


async def test_price_filters_use_the_final_price_now(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec("Free Thing", price=0, popularity=5),
        GameSpec("Cheap", price=499, popularity=4),
        GameSpec("Halved", price=2000, sale=Sale.running(50), popularity=3),  # 10.00 now
        GameSpec("Later Sale", price=2000, sale=Sale.upcoming(50), popularity=2),  # 20.00 now
        GameSpec("Dear", price=5999, popularity=1),
    )
    assert await titles(client, price_max=1000) == ["Free Thing", "Cheap", "Halved"]
    assert await titles(client, price_min=1000, price_max=2000) == ["Halved", "Later Sale"]
    assert await titles(client, price_min=2001) == ["Dear"]
    assert await titles(client, on_sale="true") == ["Halved"]
    assert await titles(client, on_sale="false") == [
        "Free Thing",
        "Cheap",
        "Later Sale",
        "Dear",
    ]
    assert await titles(client, free="true") == ["Free Thing"]
    assert "Free Thing" not in await titles(client, free="false")
    assert await titles(client, price_min=0, price_max=0) == ["Free Thing"]


async def test_release_date_range_is_inclusive(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(
        db,
        GameSpec("Old", release_date=date(2001, 5, 1), popularity=3),
        GameSpec("Mid", release_date=date(2015, 6, 15), popularity=2),
        GameSpec("New", release_date=date(2024, 1, 1), popularity=1),
        GameSpec("Undated", release_date=None),
    )
    assert await titles(client, released_after="2015-06-15") == ["Mid", "New"]
    assert await titles(client, released_before="2015-06-15") == ["Old", "Mid"]
    assert await titles(client, released_after="2002-01-01", released_before="2020-12-31") == [
        "Mid"
    ]


async def test_only_published_games_are_found(client: httpx.AsyncClient, db: Database) -> None:
    await add_game(db, GameSpec("Hidden Draft", status="draft"))
    await add_game(db, GameSpec("Pulled Game", status="unpublished"))
    await add_game(db, GameSpec("Hidden Gem"))
    assert await titles(client, q="hidden") == ["Hidden Gem"]
    assert await titles(client) == ["Hidden Gem"]


# --- sorts and cursor pages --------------------------------------------------------------------


@pytest.fixture
async def shelf(db: Database) -> None:
    """Seven games whose orders differ by every sort, with ties on each key."""
    await add_games(
        db,
        GameSpec(
            "Echo",
            price=999,
            popularity=50,
            review_score=90,
            review_total=100,
            release_date=date(2021, 1, 1),
        ),
        GameSpec(
            "alpha",
            price=1999,
            popularity=10,
            review_score=70,
            review_total=10,
            release_date=date(2023, 3, 3),
        ),
        GameSpec(
            "Delta",
            price=999,
            sale=Sale.running(50),
            popularity=50,
            review_score=None,
            release_date=None,
        ),
        GameSpec(
            "Bravo",
            price=0,
            popularity=99,
            review_score=90,
            review_total=500,
            release_date=date(2021, 1, 1),
        ),
        GameSpec(
            "Charlie",
            price=4999,
            popularity=1,
            review_score=40,
            review_total=30,
            release_date=date(2019, 7, 7),
        ),
        GameSpec(
            "Foxtrot",
            price=499,
            popularity=10,
            review_score=70,
            review_total=10,
            release_date=date(2025, 2, 2),
        ),
        GameSpec(
            "Golf",
            price=2999,
            sale=Sale.upcoming(75),
            popularity=0,
            review_score=95,
            review_total=5,
            release_date=date(2023, 3, 3),
        ),
    )


SORTED = {
    "top_sellers": ["Bravo", "Echo", "Delta", "alpha", "Foxtrot", "Charlie", "Golf"],
    "release_date": ["Foxtrot", "alpha", "Golf", "Echo", "Bravo", "Charlie", "Delta"],
    "price": ["Bravo", "Foxtrot", "Delta", "Echo", "alpha", "Golf", "Charlie"],
    "review_score": ["Golf", "Bravo", "Echo", "alpha", "Foxtrot", "Charlie", "Delta"],
    "name": ["alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf"],
}


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize("sort", sorted(SORTED))
async def test_each_sort(client: httpx.AsyncClient, sort: str) -> None:
    assert await titles(client, sort=sort) == SORTED[sort]


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize("sort", sorted(SORTED))
@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_cursor_pages_visit_every_game_once(
    client: httpx.AsyncClient, sort: str, limit: int
) -> None:
    pages = await every_page(client, sort=sort, limit=limit)
    assert [title for page in pages for title in page] == SORTED[sort]
    assert all(len(page) == limit for page in pages[:-1])


async def test_relevance_pages_cross_tiers_and_visit_every_match_once(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        *(GameSpec(f"Robot {n}", popularity=n % 3) for n in range(5)),
        *(GameSpec(f"Robotic {n}", popularity=n % 2) for n in range(4)),
        *(GameSpec(f"Gear {n}", tags=["robots"], popularity=n) for n in range(4)),
        GameSpec("Unrelated"),
    )
    everything = await titles(client, q="robot", limit=100)
    assert len(everything) == 13
    for limit in (1, 4, 5):
        pages = await every_page(client, q="robot", limit=limit)
        assert [title for page in pages for title in page] == everything


async def test_filtered_pages_with_text(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(
        db,
        *(GameSpec(f"Tank {n}", price=100 * n, genres=["strategy"]) for n in range(1, 8)),
        GameSpec("Tank Toy", genres=["casual"]),
    )
    pages = await every_page(client, q="tank", genre="strategy", sort="price", limit=3)
    assert [t for page in pages for t in page] == [f"Tank {n}" for n in range(1, 8)]


# --- facets -------------------------------------------------------------------------------------


async def test_facets_count_the_filtered_set_not_the_page(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_games(
        db,
        GameSpec(
            "Space One",
            genres=["action", "rpg"],
            tags=["sci-fi", "space"],
            price=0,
            platforms=["windows", "linux"],
        ),
        GameSpec("Space Two", genres=["rpg"], tags=["space"], price=450, platforms=["mac"]),
        GameSpec(
            "Space Three", genres=["action"], tags=["space"], price=1000, sale=Sale.running(50)
        ),
        GameSpec("Space Four", genres=["strategy"], tags=["sci-fi"], price=4000),
        GameSpec("Garden", genres=["casual"], tags=["relaxing"], price=2500),
    )
    page = await search(client, q="space", facets="true", limit=1)
    assert len(page["items"]) == 1
    assert page["total"] == 4
    assert page["facets"] == {
        "genres": {"action": 2, "rpg": 2, "strategy": 1},
        "tags": {"space": 3, "sci-fi": 2},
        "platforms": {"windows": 3, "mac": 1, "linux": 1},
        "price_bands": {
            "free": 1,
            "under_5": 1,
            "5_10": 1,  # 10.00 at half price: 5.00
            "10_20": 0,
            "20_40": 0,
            "over_40": 1,
        },
    }
    filtered = await search(client, q="space", genre="rpg", facets="true")
    assert filtered["total"] == 2
    assert filtered["facets"]["genres"] == {"rpg": 2, "action": 1}
    everything = await search(client, facets="true")
    assert everything["total"] == 5
    assert everything["facets"]["tags"] == {"space": 3, "sci-fi": 2, "relaxing": 1}
    # Without facets=true there are neither facets nor total.
    assert set(await search(client, q="space")) == {"items", "next_cursor"}


async def test_facets_show_the_top_twenty_tags(client: httpx.AsyncClient, db: Database) -> None:
    tags = [f"tag-{n:02d}" for n in range(25)]
    for n in range(5):
        await add_game(db, GameSpec(f"Tagged {n}", tags=tags[: 20 + n]))
    facets = (await search(client, facets="true"))["facets"]
    assert len(facets["tags"]) == 20
    assert list(facets["tags"])[:3] == ["tag-00", "tag-01", "tag-02"]
    assert facets["tags"]["tag-00"] == 5


async def test_facets_of_a_search_with_no_match(client: httpx.AsyncClient, db: Database) -> None:
    await add_game(db, GameSpec("Something"))
    page = await search(client, q="qqqqqq", facets="true")
    assert page["items"] == []
    assert page["total"] == 0
    assert page["facets"]["genres"] == {}
    assert page["facets"]["price_bands"]["free"] == 0


# --- result lines -----------------------------------------------------------------------------


async def test_lines_show_prices_now_in_the_asked_currency(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_game(
        db, GameSpec("Euro Game", price=2000, sale=Sale.running(25), regional_prices={"EUR": 1800})
    )
    [usd] = (await search(client, q="euro"))["items"]
    assert usd["price"] == {"amount": 2000, "currency": "USD"}
    assert usd["final_price"] == {"amount": 1500, "currency": "USD"}
    assert usd["discount_percent"] == 25
    [eur] = (await search(client, q="euro", currency="EUR"))["items"]
    assert eur["final_price"] == {"amount": 1350, "currency": "EUR"}
    assert {"app_id", "title", "review_summary", "header_image"} <= set(eur)


# --- the index follows the games ----------------------------------------------------------------


async def test_reindex_follows_edits_unpublishing_and_deletes(
    client: httpx.AsyncClient, db: Database
) -> None:
    game = await add_game(db, GameSpec("Old Name", tags=["puzzle"], popularity=1))
    other = await add_game(db, GameSpec("Other Game", popularity=2))
    await update_game(db, game.app_id, title="Brand New Name", popularity=3)
    assert await titles(client, q="old") == []
    assert await titles(client, q="brand") == ["Brand New Name"]
    assert await titles(client, q="brnad") == ["Brand New Name"]  # new words know their typos
    assert await titles(client) == ["Brand New Name", "Other Game"]  # the new popularity
    await update_game(db, game.app_id, status="unpublished")
    assert await titles(client, q="brand") == []
    await update_game(db, game.app_id, status="published")
    assert await titles(client, q="brand") == ["Brand New Name"]
    await delete_game(db, other.app_id)
    assert await titles(client, q="other") == []
    assert await titles(client) == ["Brand New Name"]


async def test_a_rebuild_gives_the_same_answers(client: httpx.AsyncClient, db: Database) -> None:
    await add_games(
        db,
        GameSpec("Hollow Knight", tags=["metroidvania"], popularity=5),
        GameSpec("Hollow Mountain", popularity=9),
        GameSpec("Silksong", developers=["Team Cherry"], popularity=7),
    )
    queries = [{"q": "hollow"}, {"q": "holow"}, {"q": "cherry"}, {"tag": "metroidvania"}, {}]
    before = [await titles(client, **q) for q in queries]
    await forget_typo_table(db)
    await rebuild(db)
    assert [await titles(client, **q) for q in queries] == before
    assert before[1] == ["Hollow Mountain", "Hollow Knight"]


async def test_a_cleared_index_finds_nothing_until_rebuilt(
    client: httpx.AsyncClient, db: Database
) -> None:
    games = await add_games(db, GameSpec("Hollow Knight"), GameSpec("Hades"))
    await clear(db)
    assert await titles(client, q="hollow") == []
    assert await titles(client, q="holow") == []  # the typo table went too
    await delete_game(db, games[1].app_id)  # nothing left to take out of the index
    await rebuild(db)
    assert await titles(client, q="holow") == ["Hollow Knight"]
    assert await titles(client, q="hades") == []


async def test_the_index_keeps_the_store_order_of_games_added_one_by_one(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_game(db, GameSpec("Middle Game", popularity=50))
    await add_game(db, GameSpec("Top Game", popularity=100))
    await add_game(db, GameSpec("Bottom Game", popularity=1))
    expected = ["Top Game", "Middle Game", "Bottom Game"]
    assert await titles(client) == expected  # from the games table
    assert await titles(client, genre="action") == expected  # from the index
    assert await titles(client, q="game") == expected
    assert await titles(client, q="game", sort="top_sellers") == expected
