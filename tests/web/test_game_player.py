"""The game page for a signed-in player: ownership, "complete the set" prices, and reviews
(write, edit, delete, vote), through the pages, checked against the services' APIs."""

from __future__ import annotations

from typing import Any

import httpx

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import create_game, publisher_account
from tests.web.helpers import card_fields, form_token, pay_form, web_player

REVIEWS = "/api/v1/reviews"


async def buy(browser: httpx.AsyncClient, *app_ids: int) -> None:
    for app_id in app_ids:
        token = await form_token(browser, f"/app/{app_id}")
        added = await browser.post("/cart/add", data={"csrf": token, "app_id": str(app_id)})
        assert added.status_code == 303
    html = (await browser.get("/checkout")).text
    paid = await browser.post("/checkout", data=pay_form(html, method="card", **card_fields()))
    assert paid.status_code == 303
    assert paid.headers["location"].startswith("/orders/")


async def reviews_of(client: httpx.AsyncClient, app_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"{REVIEWS}/games/{app_id}/reviews")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_complete_the_set_is_priced_for_the_player(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    a = await create_game(client, studio, price={"amount": 1000, "currency": "USD"})
    b = await create_game(client, studio, price={"amount": 2000, "currency": "USD"})
    bundle = await create_game(
        client,
        studio,
        title="Both Games",
        type="bundle",
        bundle_items=[a["app_id"], b["app_id"]],
        bundle_discount_percent=10,
        price={"amount": 0, "currency": "USD"},
    )
    await web_player(browser, platform)
    before = await browser.get(f"/app/{a['app_id']}")
    assert "Complete the set for you: <b>$27.00</b>" in before.text
    await buy(browser, a["app_id"])
    after = await browser.get(f"/app/{b['app_id']}")
    assert "Complete the set for you: <b>$18.00</b>" in after.text
    own = await browser.get(f"/app/{bundle['app_id']}")
    assert "Complete the set for you: <b>$18.00</b>" in own.text


async def test_an_owner_reviews_edits_and_deletes_and_others_vote(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    game = await create_game(client, studio, title="Review Me")
    app_id = int(game["app_id"])
    await web_player(browser, platform, "critic")
    stranger_view = await browser.get(f"/app/{app_id}")
    assert "Post your review" not in stranger_view.text  # only owners write one
    await buy(browser, app_id)
    page = await browser.get(f"/app/{app_id}")
    assert "Post your review" in page.text

    token = await form_token(browser, f"/app/{app_id}")
    empty = await browser.post(
        f"/app/{app_id}/reviews", data={"csrf": token, "app_id": str(app_id), "body": ""}
    )
    assert empty.status_code == 400
    assert 'id="body-error"' in empty.text
    assert 'id="recommended-error"' in empty.text
    assert await reviews_of(client, app_id) == []

    text = "Lovely <script>alert(1)</script> game.\n\nSecond paragraph."
    posted = await browser.post(
        f"/app/{app_id}/reviews",
        data={"csrf": token, "app_id": str(app_id), "body": text, "recommended": "yes"},
    )
    assert posted.status_code == 303
    (review,) = await reviews_of(client, app_id)
    page = await browser.get(f"/app/{app_id}")
    assert "Lovely &lt;script&gt;alert(1)&lt;/script&gt; game." in page.text
    assert "<script>alert(1)" not in page.text
    assert "Save your review" in page.text

    edited = await browser.post(
        f"/reviews/{review['id']}/edit",
        data={
            "csrf": token,
            "app_id": str(app_id),
            "body": "Changed my mind.",
            "recommended": "no",
        },
    )
    assert edited.status_code == 303
    (after,) = await reviews_of(client, app_id)
    assert after["recommended"] is False
    assert after["body"] == "Changed my mind."

    # Another player votes, without a reload (JSON) and with a plain form.
    browser.cookies.clear()
    await web_player(browser, platform, "reader")
    voter_page = await browser.get(f"/app/{app_id}")
    assert "Was this review helpful?" in voter_page.text
    token = await form_token(browser, f"/app/{app_id}")
    voted = await browser.post(
        f"/reviews/{review['id']}/vote",
        data={"csrf": token, "vote": "helpful", "back": f"/app/{app_id}"},
        headers={"accept": "application/json"},
    )
    assert voted.status_code == 200
    assert voted.json()["votes"]["helpful"] == 1
    funny = await browser.post(
        f"/reviews/{review['id']}/vote", data={"csrf": token, "vote": "funny"}
    )
    assert funny.status_code == 303
    (counted,) = await reviews_of(client, app_id)
    assert counted["votes"]["helpful"] == 1
    assert counted["votes"]["funny"] == 1
    nonsense = await browser.post(
        f"/reviews/{review['id']}/vote", data={"csrf": token, "vote": "love"}
    )
    assert nonsense.status_code == 303
    assert "problem=" in nonsense.headers["location"]
    forged = await browser.post(f"/reviews/{review['id']}/vote", data={"vote": "helpful"})
    assert forged.status_code == 403
    not_mine = await browser.post(
        f"/reviews/{review['id']}/delete", data={"csrf": token, "app_id": str(app_id)}
    )
    assert not_mine.status_code in (403, 404)
    assert len(await reviews_of(client, app_id)) == 1


async def test_the_owner_deletes_their_review(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    studio = await publisher_account(client, platform)
    game = await create_game(client, studio)
    app_id = int(game["app_id"])
    await web_player(browser, platform)
    await buy(browser, app_id)
    token = await form_token(browser, f"/app/{app_id}")
    await browser.post(
        f"/app/{app_id}/reviews",
        data={"csrf": token, "app_id": str(app_id), "body": "Fine.", "recommended": "yes"},
    )
    (review,) = await reviews_of(client, app_id)
    gone = await browser.post(
        f"/reviews/{review['id']}/delete", data={"csrf": token, "app_id": str(app_id)}
    )
    assert gone.status_code == 303
    assert await reviews_of(client, app_id) == []
