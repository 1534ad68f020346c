"""Home, search and browse, suggestions and the game page, through the gateway."""

from __future__ import annotations

import asyncio
import re

import httpx
from sqlalchemy import select

from lugx.platform.bootstrap import Platform
from lugx.services.catalog.models import Game
from tests.catalog.factories import create_game, publisher_account
from tests.conftest import database_of
from tests.reviews.factories import REVIEWS, eventually, owners, post_review

EVIL = '<script>alert("x")</script>'


async def test_the_home_page_shows_the_shelves(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    await create_game(client, studio, title="Moonlit Harbour", release_date="2026-10-01")
    page = await browser.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Top sellers" in page.text
    assert "Moonlit Harbour" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_user_text_is_escaped_everywhere(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    game = await create_game(
        client,
        studio,
        title=f"Evil {EVIL}",
        short_description=f"short {EVIL}",
        long_description=f"long {EVIL}",
        developers=[f"Dev {EVIL}"],
    )
    pages = [
        await browser.get("/"),
        await browser.get("/search", params={"q": "evil"}),
        await browser.get(f"/app/{game['app_id']}"),
        await browser.get("/search", params={"q": EVIL}),
    ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[2].text


async def test_search_forgives_a_typo_and_counts_facets(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    await create_game(client, studio, title="Starlight Valley", genres=["simulation"])
    await create_game(client, studio, title="Iron Legion", genres=["strategy"])
    page = await browser.get("/search", params={"q": "starlihgt valey"})
    assert page.status_code == 200
    assert "Starlight Valley" in page.text
    assert "Iron Legion" not in page.text
    everything = await browser.get("/search")
    assert "Starlight Valley" in everything.text
    assert "Iron Legion" in everything.text
    # the facet sidebar links keep the search and count per genre
    assert re.search(
        r'href="/search\?genre=strategy"[^>]*>Strategy <span>1</span>', everything.text
    )
    narrowed = await browser.get("/search", params={"genre": "strategy"})
    assert "Iron Legion" in narrowed.text
    assert "Starlight Valley" not in narrowed.text


async def test_paging_keeps_the_filters(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    for n in range(25):
        await create_game(client, studio, title=f"Puzzle Box {n}", genres=["puzzle"])
    await create_game(client, studio, title="Not A Puzzle", genres=["racing"])
    first = await browser.get("/search", params={"genre": "puzzle", "sort": "name"})
    found = re.search(r'href="(/search\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert found is not None
    next_url = found.group(1).replace("&amp;", "&")
    assert "genre=puzzle" in next_url
    assert "sort=name" in next_url
    second = await browser.get(next_url)
    assert second.status_code == 200
    titles = set(re.findall(r'<span class="title">([^<]+)</span>', first.text + second.text))
    assert titles == {f"Puzzle Box {n}" for n in range(25)}


async def test_bad_filters_are_a_clear_page_not_an_error(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/search", params={"platform": "amiga"})
    assert page.status_code == 400
    assert "not understood" in page.text
    stale = await browser.get("/search", params={"cursor": "garbage"})
    assert stale.status_code == 400
    assert "out of date" in stale.text


async def test_suggestions_as_you_type(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    game = await create_game(client, studio, title="Crystal Caverns")
    answer = await browser.get("/search/suggest", params={"q": "crys"})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert items[0]["title"] == "Crystal Caverns"
    assert items[0]["url"] == f"/app/{game['app_id']}/{game['slug']}"
    assert items[0]["price"] == "$19.99"
    assert (await browser.get("/search/suggest", params={"q": ""})).json() == {"items": []}


async def test_the_game_page(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    game = await create_game(
        client,
        studio,
        title="Harbor Lights",
        long_description="First paragraph.\n\nSecond paragraph.",
        system_requirements={"minimum": {"os": "Windows 10"}, "recommended": {}},
    )
    dlc = await create_game(
        client,
        studio,
        title="Harbor Lights: Night Shift",
        type="dlc",
        base_game=game["app_id"],
        price={"amount": 499, "currency": "USD"},
    )
    page = await browser.get(f"/app/{game['app_id']}/{game['slug']}")
    assert page.status_code == 200
    for text in ("Harbor Lights", "<p>Second paragraph.</p>", "$19.99", "Windows 10"):
        assert text in page.text
    assert "Night Shift" in page.text
    assert "$4.99" in page.text
    dlc_page = await browser.get(f"/app/{dlc['app_id']}")
    assert "This content needs" in dlc_page.text


async def test_the_game_page_shows_its_review_summary_and_a_developer_response(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform, "Harbour Works")
    game = await create_game(client, studio, title="Well Reviewed")
    app_id = game["app_id"]
    players = await owners(client, platform, app_id, 10)
    reviews = [
        await post_review(client, p, app_id, recommended=n < 9) for n, p in enumerate(players)
    ]
    answered = await client.put(
        f"{REVIEWS}/{reviews[0]['id']}/response",
        json={"body": f"Thanks {EVIL} for playing"},
        headers=studio.headers,
    )
    assert answered.status_code == 200, answered.text

    async def catalog_counted() -> bool:
        """The catalog's copy of the summary (fed by the reviews service's event), read from its
        database: the page is read only once the copy is in, so no page read before the event
        stays in the catalog's cache."""
        async with database_of(platform, "catalog").session(write=False) as session:
            stored = (await session.execute(select(Game).where(Game.app_id == app_id))).scalar_one()
        return (stored.review_total, stored.review_description) == (10, "Positive")

    await eventually(catalog_counted, what="the catalog's copy of the summary")
    page = await browser.get(f"/app/{app_id}")
    assert page.status_code == 200
    assert "<dt>All reviews</dt>" in page.text
    assert 'data-score="90">Positive <small>(90% of 10)</small>' in page.text
    assert "<b>Positive</b> <small>(90% of 10 positive)</small>" in page.text
    assert "Recent: <b>Positive</b> <small>(90%)</small>" in page.text
    assert "Response from Harbour Works" in page.text
    assert "Thanks &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; for playing" in page.text
    assert EVIL not in page.text


async def test_a_missing_game_or_a_draft_is_not_found(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    draft = await create_game(client, studio, publish=False, title="Secret Draft")
    missing, hidden = await asyncio.gather(
        browser.get("/app/999990"), browser.get(f"/app/{draft['app_id']}")
    )
    assert missing.status_code == 404
    assert hidden.status_code == 404
    assert "Secret Draft" not in hidden.text
    assert (await browser.get("/no/such/page")).status_code == 404


async def test_static_files_are_small(browser: httpx.AsyncClient) -> None:
    css = await browser.get("/static/app.css")
    js = await browser.get("/static/app.js")
    assert css.status_code == js.status_code == 200
    assert len(css.content) + len(js.content) < 100_000
