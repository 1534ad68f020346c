"""The wallet and its top-ups, the wishlist and price alerts, the library and refunds, through
the pages, checked against the services' APIs."""

from __future__ import annotations

import asyncio

import httpx

from lugx.platform.bootstrap import Platform
from tests.purchases.factories import store
from tests.web.helpers import api, card_fields, form_token, page_text, pay_form, web_player

WALLET = "/api/v1/payments/wallet"
WISHLIST = "/api/v1/shopping/wishlist/items"


async def balance(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    amount: int = (await api(client, WALLET, headers))["balance"]["amount"]
    return amount


async def wallet_form(browser: httpx.AsyncClient) -> str:
    return await page_text(browser, "/account/wallet")


async def test_a_top_up_sent_twice_tops_up_once(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    headers = await web_player(browser, platform)
    html = await wallet_form(browser)
    assert "4242424242424242" in html
    assert "Balance: <b>$0.00</b>" in html
    form = pay_form(html, amount="25.00", **card_fields())
    first, second = await asyncio.gather(
        browser.post("/account/wallet/top-up", data=form),
        browser.post("/account/wallet/top-up", data=form),
    )
    assert {first.status_code, second.status_code} <= {303, 400}
    assert 303 in (first.status_code, second.status_code)
    again = await browser.post("/account/wallet/top-up", data=form)
    assert again.status_code == 303
    assert await balance(client, headers) == 2500
    shown = await wallet_form(browser)
    assert "Balance: <b>$25.00</b>" in shown
    assert "Top-up" in shown
    # A new render is a new key: a second top-up is a new one.
    fresh = pay_form(shown, amount="5", **card_fields())
    assert fresh["idempotency_key"] != form["idempotency_key"]
    assert (await browser.post("/account/wallet/top-up", data=fresh)).status_code == 303
    assert await balance(client, headers) == 3000


async def test_top_up_errors_sit_next_to_their_field_and_move_no_money(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    headers = await web_player(browser, platform)
    html = await wallet_form(browser)
    bad_amount = await browser.post(
        "/account/wallet/top-up", data=pay_form(html, amount="lots", **card_fields())
    )
    assert bad_amount.status_code == 400
    assert 'id="amount-error"' in bad_amount.text
    too_small = await browser.post(
        "/account/wallet/top-up", data=pay_form(html, amount="1.00", **card_fields())
    )
    assert too_small.status_code == 400
    assert 'id="amount-error"' in too_small.text
    declined = await browser.post(
        "/account/wallet/top-up",
        data=pay_form(
            wallet_html := await wallet_form(browser),
            amount="10",
            **card_fields("4000000000000002"),
        ),
    )
    assert declined.status_code == 400
    assert 'id="card_number-error"' in declined.text
    luhn = await browser.post(
        "/account/wallet/top-up",
        data=pay_form(wallet_html, amount="10", **card_fields("4242424242424241")),
    )
    assert luhn.status_code in (400, 409)
    assert await balance(client, headers) == 0
    forged = await browser.post(
        "/account/wallet/top-up", data={**pay_form(html, amount="10", **card_fields()), "csrf": "x"}
    )
    assert forged.status_code == 403
    assert await balance(client, headers) == 0


async def test_a_top_up_that_needs_confirming(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    headers = await web_player(browser, platform)
    html = await wallet_form(browser)
    asked = await browser.post(
        "/account/wallet/top-up",
        data=pay_form(html, amount="20", **card_fields("4000002500003155")),
    )
    assert asked.status_code == 303
    assert asked.headers["location"].endswith("/confirm")
    assert await balance(client, headers) == 0
    path = asked.headers["location"]
    done = await browser.post(path, data={"csrf": await form_token(browser, path)})
    assert done.status_code == 303
    assert done.headers["location"].startswith("/account/wallet")
    assert await balance(client, headers) == 2000


async def test_wishlist_and_price_alerts(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    (app_id,) = await store(client, platform, 2000)
    headers = await web_player(browser, platform)
    token = await form_token(browser, f"/app/{app_id}")
    added = await browser.post(
        "/wishlist/add",
        data={"csrf": token, "app_id": str(app_id)},
        headers={"accept": "application/json"},
    )
    assert added.json()["ok"] is True
    page = await browser.get("/wishlist")
    assert "$20.00" in page.text
    assert "Set alert" in page.text

    alert = f"/wishlist/{app_id}/alert"
    for bad in ("cheap", "25.00"):
        refused = await browser.post(alert, data={"csrf": token, "target": bad})
        assert refused.status_code == 400
        assert f'id="target_{app_id}-error"' in refused.text
    assert (await api(client, WISHLIST, headers))["items"][0]["alert_target"] is None

    ok = await browser.post(alert, data={"csrf": token, "target": "9.99"})
    assert ok.status_code == 303
    line = (await api(client, WISHLIST, headers))["items"][0]
    assert line["alert_target"] == {"amount": 999, "currency": "USD"}
    assert "Alert at $9.99" in (await browser.get("/wishlist")).text
    cleared = await browser.post(alert, data={"csrf": token, "target": ""})
    assert cleared.status_code == 303
    assert (await api(client, WISHLIST, headers))["items"][0]["alert_target"] is None

    removed = await browser.post(f"/wishlist/{app_id}/remove", data={"csrf": token})
    assert removed.status_code == 303
    assert (await api(client, WISHLIST, headers))["items"] == []


async def test_library_playtime_and_an_automatic_refund(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    (app_id,) = await store(client, platform, 1500)
    headers = await web_player(browser, platform)
    token = await form_token(browser, f"/app/{app_id}")
    await browser.post("/cart/add", data={"csrf": token, "app_id": str(app_id)})
    html = (await browser.get("/checkout")).text
    paid = await browser.post("/checkout", data=pay_form(html, method="card", **card_fields()))
    assert paid.status_code == 303
    game = await browser.get(f"/app/{app_id}")
    assert "In your library" in game.text
    assert "Add to cart" not in game.text

    library = (await browser.get("/library")).text
    form = pay_form(library, back="/library", reason="Not for me")
    order_id = library.split('action="/orders/')[1].split("/refund")[0]
    refunded = await browser.post(f"/orders/{order_id}/refund", data=form)
    assert refunded.status_code == 303
    assert refunded.headers["location"].startswith("/library?note=Refunded")
    assert (await api(client, "/api/v1/purchases/library", headers))["items"] == []
    again = await browser.post(f"/orders/{order_id}/refund", data=form)
    assert again.status_code == 303  # the same key: the first answer, nothing moves twice
    order = await api(client, f"/api/v1/purchases/orders/{order_id}", headers)
    assert order["status"] == "refunded"
