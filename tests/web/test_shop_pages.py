"""Cart, coupons, checkout (wallet, cards, the confirmation step), orders and receipts, through
the pages with a real browser's cookies and forms, checked against the services' APIs."""

from __future__ import annotations

import asyncio

import httpx

from lugx.platform.bootstrap import Platform
from tests.catalog.factories import admin_account
from tests.payments.factories import funded
from tests.purchases.factories import store
from tests.shopping.factories import CART, make_coupon
from tests.users.factories import Account, signed_up
from tests.web.helpers import api, card_fields, form_token, page_text, pay_form, web_player

ORDERS = "/api/v1/purchases/orders"
LIBRARY = "/api/v1/purchases/library"


async def add(browser: httpx.AsyncClient, app_id: int, *, json: bool = False) -> httpx.Response:
    token = await form_token(browser, f"/app/{app_id}")
    headers = {"accept": "application/json"} if json else {}
    return await browser.post(
        "/cart/add",
        data={"csrf": token, "app_id": str(app_id), "back": f"/app/{app_id}"},
        headers=headers,
    )


async def test_add_to_cart_with_and_without_the_script(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    first, second = await store(client, platform, 1999, 500)
    headers = await web_player(browser, platform)
    plain = await add(browser, first)
    assert plain.status_code == 303
    assert plain.headers["location"].startswith(f"/app/{first}?note=")
    scripted = await add(browser, second, json=True)
    assert scripted.status_code == 200
    assert scripted.json() == {"ok": True, "message": "Added to your cart.", "count": 2}
    again = await add(browser, second, json=True)
    assert again.status_code == 409
    assert again.json()["message"] == "It is already in your cart."
    cart = await api(client, CART, headers)
    assert sorted(line["app_id"] for line in cart["items"]) == sorted([first, second])
    page = await browser.get(f"/app/{first}")
    assert "In your cart" in page.text

    shown = await browser.get("/cart")
    assert shown.status_code == 200
    assert "$19.99" in shown.text
    assert "$5.00" in shown.text
    assert "$24.99" in shown.text
    removed = await browser.post(
        "/cart/remove", data={"csrf": await form_token(browser, "/cart"), "app_id": str(first)}
    )
    assert removed.status_code == 303
    assert [line["app_id"] for line in (await api(client, CART, headers))["items"]] == [second]


async def test_a_stranger_is_sent_to_sign_in_and_nothing_is_added(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    (app_id,) = await store(client, platform, 999)
    plain = await add(browser, app_id)
    assert plain.status_code == 303
    assert plain.headers["location"] == "/login?next=/app/" + str(app_id)
    scripted = await add(browser, app_id, json=True)
    assert scripted.status_code == 401
    assert scripted.json()["login"].startswith("/login?next=")


async def test_coupon_errors_sit_next_to_the_field_and_change_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    (app_id,) = await store(client, platform, 2000)
    admin = await admin_account(client, platform)
    coupon = await make_coupon(client, admin, code="SPRING25", percent=25)
    headers = await web_player(browser, platform)
    await add(browser, app_id)
    token = await form_token(browser, "/cart")
    unknown = await browser.post("/cart/coupon", data={"csrf": token, "code": "NOPE123"})
    assert unknown.status_code == 400
    assert 'id="code-error"' in unknown.text
    assert "No coupon has that code" in unknown.text
    assert 'value="NOPE123"' in unknown.text
    malformed = await browser.post("/cart/coupon", data={"csrf": token, "code": "<b>"})
    assert malformed.status_code == 400
    assert "&lt;b&gt;" in malformed.text
    assert (await api(client, CART, headers))["coupon"] is None

    applied = await browser.post("/cart/coupon", data={"csrf": token, "code": "spring25"})
    assert applied.status_code == 303
    cart_page = await browser.get("/cart")
    assert "Coupon SPRING25" in cart_page.text
    assert "$15.00" in cart_page.text
    assert (await api(client, CART, headers))["total"]["amount"] == 1500
    assert coupon["code"] == "SPRING25"


async def checkout_page(browser: httpx.AsyncClient) -> str:
    return await page_text(browser, "/checkout")


async def in_the_cart(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform, price: int
) -> tuple[int, dict[str, str]]:
    """A game at `price` in the store and in a new web player's cart: its app_id, and the
    player's API headers."""
    (app_id,) = await store(client, platform, price)
    headers = await web_player(browser, platform)
    await add(browser, app_id)
    return app_id, headers


async def pay_by_card(
    browser: httpx.AsyncClient, html: str, number: str = "4242424242424242"
) -> httpx.Response:
    """The checkout form of `html` sent, paying by the test card `number`."""
    return await browser.post(
        "/checkout", data=pay_form(html, method="card", **card_fields(number))
    )


async def test_pay_by_card_then_the_order_page_the_receipt_and_the_library(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    first, second = await store(client, platform, 1999, 999)
    headers = await web_player(browser, platform)
    await add(browser, first)
    await add(browser, second)
    html = await checkout_page(browser)
    assert "4000002500003155" in html  # the sandbox cards, outside production
    form = pay_form(html, method="card", **card_fields())
    paid = await browser.post("/checkout", data=form)
    assert paid.status_code == 303
    location = paid.headers["location"]
    assert location.startswith("/orders/")
    assert location.endswith("?placed=1")
    order_page = await browser.get(location)
    assert "Thank you for your order" in order_page.text
    assert "$29.98" in order_page.text

    # The same form sent again (a double click): the same order, paid once.
    twice = await browser.post("/checkout", data=form)
    assert twice.headers["location"] == location
    orders = (await api(client, ORDERS, headers))["items"]
    assert len(orders) == 1
    assert orders[0]["status"] in ("paid", "completed")
    owned = {item["app_id"] for item in (await api(client, LIBRARY, headers))["items"]}
    assert owned == {first, second}

    order_id = orders[0]["id"]
    receipt = await browser.get(f"/orders/{order_id}/receipt")
    assert receipt.status_code == 200
    assert "Visa ending 4242" in receipt.text
    assert "LGX-" in receipt.text
    history = await browser.get("/orders")
    assert f"/orders/{order_id}" in history.text
    library = await browser.get("/library")
    assert "Not played yet" in library.text
    assert ">Refund<" in library.text


async def test_a_declined_card_is_shown_next_to_the_card_and_nothing_is_bought(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    app_id, headers = await in_the_cart(browser, client, platform, 1500)
    html = await checkout_page(browser)
    declined = await pay_by_card(browser, html, "4000000000000002")
    assert declined.status_code == 402
    assert 'id="card_number-error"' in declined.text
    assert "declined" in declined.text
    assert "4000000000000002" not in declined.text.split("Sandbox test cards")[0]
    assert (await api(client, LIBRARY, headers))["items"] == []
    assert [line["app_id"] for line in (await api(client, CART, headers))["items"]] == [app_id]


async def test_bad_card_input_and_a_stale_form_are_refused_before_any_call(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    _, headers = await in_the_cart(browser, client, platform, 1500)
    html = await checkout_page(browser)
    bad = pay_form(html, method="card", card_number="abc", exp_month="13", exp_year="x", cvc="1")
    refused = await browser.post("/checkout", data=bad)
    assert refused.status_code == 400
    for field in ("card_number", "exp_month", "exp_year", "cvc"):
        assert f'id="{field}-error"' in refused.text
    no_key = {**pay_form(html, method="wallet"), "idempotency_key": ""}
    stale = await browser.post("/checkout", data=no_key)
    assert stale.status_code == 400
    assert "out of date" in stale.text
    assert (await api(client, ORDERS, headers))["items"] == []


async def test_paying_from_the_wallet(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    (app_id,) = await store(client, platform, 1200)
    headers = await web_player(browser, platform)
    me = await api(client, "/api/v1/users/me", headers)
    account = Account(
        user=me,
        password="",
        access_token=headers["Authorization"][7:],
        refresh_token="",
        session_id="",
    )
    await funded(client, account, 2000)
    await add(browser, app_id)
    html = await checkout_page(browser)
    assert "$20.00" in html
    paid = await browser.post("/checkout", data=pay_form(html, method="wallet"))
    assert paid.status_code == 303
    wallet = await api(client, "/api/v1/payments/wallet", headers)
    assert wallet["balance"]["amount"] == 800


async def test_the_confirmation_step_then_the_order_completes(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    app_id, headers = await in_the_cart(browser, client, platform, 2500)
    html = await checkout_page(browser)
    asked = await pay_by_card(browser, html, "4000002500003155")
    assert asked.status_code == 303
    confirm_path = asked.headers["location"]
    assert confirm_path.startswith("/payments/")
    assert confirm_path.endswith("/confirm")
    assert (await api(client, LIBRARY, headers))["items"] == []
    page = await browser.get(confirm_path)
    assert "Confirm the payment" in page.text
    done = await browser.post(confirm_path, data={"csrf": await form_token(browser, confirm_path)})
    assert done.status_code == 303
    assert done.headers["location"].startswith("/orders/")

    async def owned() -> bool:
        items = (await api(client, LIBRARY, headers))["items"]
        return [item["app_id"] for item in items] == [app_id]

    for _ in range(300):
        if await owned():
            break
        await asyncio.sleep(0.05)
    assert await owned()


async def test_another_players_order_receipt_and_confirmation_are_not_found(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    await in_the_cart(browser, client, platform, 700)
    html = await checkout_page(browser)
    paid = await pay_by_card(browser, html)
    order_path = paid.headers["location"].split("?")[0]

    browser.cookies.clear()
    await web_player(browser, platform)
    assert (await browser.get(order_path)).status_code == 404
    assert (await browser.get(order_path + "/receipt")).status_code == 404
    assert (await browser.get("/orders/not-a-uuid")).status_code == 404
    token = await form_token(browser, "/orders")
    refund = await browser.post(
        order_path + "/refund", data={"csrf": token, "idempotency_key": "k" * 20}
    )
    assert refund.status_code == 404


async def test_forms_without_the_csrf_token_change_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    (app_id,) = await store(client, platform, 700)
    headers = await web_player(browser, platform)
    forged = await browser.post("/cart/add", data={"app_id": str(app_id)})
    assert forged.status_code == 403
    await add(browser, app_id)
    html = await checkout_page(browser)
    form = pay_form(html, method="card", **card_fields())
    form["csrf"] = "forged"
    assert (await browser.post("/checkout", data=form)).status_code == 403
    cross = await browser.post(
        "/checkout",
        data=pay_form(html, method="card", **card_fields()),
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert (await api(client, ORDERS, headers))["items"] == []
    assert len((await api(client, CART, headers))["items"]) == 1


async def test_order_history_pages(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    app_ids = await store(client, platform, *([100] * 21))
    await web_player(browser, platform)
    for app_id in app_ids:
        await add(browser, app_id)
        html = await checkout_page(browser)
        paid = await pay_by_card(browser, html)
        assert paid.status_code == 303
    first = await browser.get("/orders")
    assert first.text.count('<a href="/orders/') == 20
    assert "Next page" in first.text
    next_link = first.text.split('href="/orders?cursor=')[1].split('"')[0]
    second = await browser.get("/orders?cursor=" + next_link.replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count('<a href="/orders/') == 1
    assert "First page" in second.text


async def test_a_stranger_sees_no_cart(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await signed_up(client)
    for path in ("/cart", "/checkout", "/orders", "/library", "/wishlist", "/account/wallet"):
        page = await browser.get(path)
        assert page.status_code == 303
        assert page.headers["location"] == f"/login?next={path}"


async def test_an_order_waiting_for_confirmation_can_be_canceled_from_its_page(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    app_id, headers = await in_the_cart(browser, client, platform, 2500)
    asked = await pay_by_card(browser, await checkout_page(browser), "4000002500003155")
    orders = (await api(client, "/api/v1/purchases/orders", headers))["items"]
    order_path = f"/orders/{orders[0]['id']}"
    page = await page_text(browser, order_path)
    assert "Waiting for your confirmation" in page
    assert asked.headers["location"] in page  # the way back to the confirmation step
    cancel = f"{order_path}/cancel"
    # Without the form's token nothing happens.
    assert (await browser.post(cancel, data={})).status_code == 403
    assert (await api(client, "/api/v1/purchases/orders", headers))["items"][0]["status"] == (
        "awaiting_payment"
    )
    done = await browser.post(cancel, data={"csrf": await form_token(browser, order_path)})
    assert done.status_code == 303
    after = await page_text(browser, done.headers["location"])
    assert "Order canceled" in after
    assert "You canceled this order." in after
    cart = await api(client, "/api/v1/shopping/cart", headers)
    assert [item["app_id"] for item in cart["items"]] == [app_id]
