"""The publisher's pages: create, edit, price, publish and discount a game through forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import create_game, publisher_account
from tests.users.factories import signed_up
from tests.web.helpers import form_token, post_form, web_login

NEW_GAME = {
    "type": "game",
    "title": "Paper Lanterns",
    "short_description": "Float lanterns down a river.",
    "long_description": "A calm game.\n\nAbout light.",
    "developers": "Lantern Works, Friends",
    "release_date": "2026-05-01",
    "price": "14.99",
    "genre": ["casual", "puzzle"],
    "platform": ["windows", "linux"],
    "feature": ["single_player"],
    "tags": "relaxing, pixel-graphics",
    "requirements_minimum": "OS: Windows 10\nMemory: 4 GB",
}


async def studio_browser(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> str:
    account = await publisher_account(client, platform)
    await web_login(browser, account.user["username"])
    return str(account.user["username"])


async def mine(client: httpx.AsyncClient, platform: Platform, username: str) -> list[dict]:  # type: ignore[type-arg]
    from tests.users.factories import login

    tokens = await login(client, username)
    answer = await client.get(
        "/api/v1/catalog/publishers/mine/games",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    games: list[dict] = answer.json()  # type: ignore[type-arg]
    return games


async def test_a_publisher_creates_edits_prices_and_publishes_a_game(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    username = await studio_browser(browser, client, platform)
    created = await post_form(
        browser, "/publisher/games/new", NEW_GAME, token_from="/publisher/games/new"
    )
    assert created.status_code == 303, created.text
    edit_path = created.headers["location"].split("?")[0]
    app_id = int(edit_path.rsplit("/", 1)[1])
    page = await browser.get(created.headers["location"])
    assert "created as a draft" in page.text
    assert 'value="Paper Lanterns"' in page.text
    assert (await browser.get("/search", params={"q": "paper lanterns"})).text.count(
        "Paper Lanterns"
    ) <= 1  # only in the search box: a draft is not in the store
    published = await post_form(
        browser, f"{edit_path}/status", {"status": "published"}, token_from=edit_path
    )
    assert published.status_code == 303
    found = await browser.get("/search", params={"q": "paper lant"})
    assert f'href="/app/{app_id}/' in found.text
    repriced = await post_form(
        browser, f"{edit_path}/prices", {"price": "9.5", "price_EUR": "8.99"}, token_from=edit_path
    )
    assert repriced.status_code == 303
    edited = await post_form(
        browser,
        edit_path,
        {**NEW_GAME, "title": "Paper Lanterns Deluxe", "genre": ["casual"]},
        token_from=edit_path,
    )
    assert edited.status_code == 303
    (game,) = await mine(client, platform, username)
    assert game["title"] == "Paper Lanterns Deluxe"
    assert game["price"] == {"amount": 950, "currency": "USD"}
    store_page = await browser.get(f"/app/{app_id}")
    assert "$9.50" in store_page.text
    assert "Memory" in store_page.text
    dashboard = await browser.get("/publisher")
    assert "Paper Lanterns Deluxe" in dashboard.text


async def test_bad_listing_input_is_shown_by_its_field_and_creates_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    username = await studio_browser(browser, client, platform)
    cases = [
        ({**NEW_GAME, "price": "cheap"}, "price-error", "Write a price like 19.99"),
        ({**NEW_GAME, "title": ""}, "title-error", ""),
        ({**NEW_GAME, "tags": "Not A Slug!"}, "tags-error", ""),
        ({**NEW_GAME, "release_date": "someday"}, "release_date-error", "Write a date"),
    ]
    for form, error_id, message in cases:
        answer = await post_form(
            browser, "/publisher/games/new", form, token_from="/publisher/games/new"
        )
        assert answer.status_code == 400, form
        assert f'id="{error_id}"' in answer.text, answer.text
        assert message in answer.text
    assert await mine(client, platform, username) == []


async def test_a_discount_is_scheduled_and_bad_windows_refused(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    account = await publisher_account(client, platform)
    game = await create_game(client, account, title="Sale Me")
    await web_login(browser, account.user["username"])
    path = f"/publisher/games/{game['app_id']}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    window = {
        "starts_at": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    too_much = await post_form(
        browser, f"{path}/discounts", {"percent": "95", **window}, token_from=path
    )
    assert too_much.status_code == 400
    assert 'id="percent-error"' in too_much.text
    good = await post_form(
        browser, f"{path}/discounts", {"percent": "50", **window}, token_from=path
    )
    assert good.status_code == 303
    overlap = await post_form(
        browser, f"{path}/discounts", {"percent": "20", **window}, token_from=path
    )
    assert overlap.status_code == 400
    assert 'id="starts_at-error"' in overlap.text
    page = await browser.get(f"/app/{game['app_id']}")
    assert "-50%" in page.text
    assert "<b>$10.00</b>" in page.text
    assert re.search(r'class="countdown" data-ends="[^"]+Z"', page.text)


async def test_publisher_pages_are_for_publishers_and_their_own_games(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    other = await publisher_account(client, platform)
    theirs = await create_game(client, other, title="Not Yours")
    await signed_up(client, "justaplayer")
    await web_login(browser, "justaplayer")
    assert (await browser.get("/publisher")).status_code == 403
    browser.cookies.clear()
    await studio_browser(browser, client, platform)
    path = f"/publisher/games/{theirs['app_id']}"
    token = await form_token(browser, "/publisher")
    refused = await browser.post(f"{path}/prices", data={"csrf": token, "price": "0"})
    assert refused.status_code == 403
    assert (await client.get(f"/api/v1/catalog/games/{theirs['app_id']}")).json()["price"][
        "amount"
    ] == 1999


async def test_a_new_publisher_sets_up_a_studio_first(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    from lugx.services.users.admin import grant_role

    await signed_up(client, "founder")
    await grant_role(platform.runtimes["users"].ctx, "founder", "publisher")
    await web_login(browser, "founder")
    page = await browser.get("/publisher")
    assert "Set up your studio" in page.text
    made = await post_form(
        browser, "/publisher/studio", {"name": "Founder Games"}, token_from="/publisher"
    )
    assert made.status_code == 303
    assert "Studio: Founder Games" in (await browser.get("/publisher")).text
