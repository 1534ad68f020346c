"""Steps a visitor takes, through the pages (forms, cookies), not the API."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lugx.platform.bootstrap import Platform
from lugx.web.session import COOKIE, SessionCodec
from tests.users.factories import PASSWORD, auth, unique_name
from tests.web.conftest import csrf_of

IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def form_token(browser: httpx.AsyncClient, path: str) -> str:
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def post_form(
    browser: httpx.AsyncClient,
    path: str,
    data: Mapping[str, str | Sequence[str]],
    *,
    token_from: str,
) -> httpx.Response:
    token = await form_token(browser, token_from)
    return await browser.post(path, data={"csrf": token, **data})


async def web_register(browser: httpx.AsyncClient, username: str) -> httpx.Response:
    return await post_form(
        browser,
        "/register",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
        token_from="/register",
    )


async def web_login(
    browser: httpx.AsyncClient, login: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    return await post_form(
        browser,
        "/login",
        {"login": login, "password": password, "next": next_path},
        token_from="/login",
    )


def token_of(browser: httpx.AsyncClient, platform: Platform) -> str:
    """The access token in the visitor's cookie (the test knows the key; a visitor does not)."""
    session = SessionCodec(platform.wiring.secret_key).decode(browser.cookies.get(COOKIE))
    assert session is not None
    assert session.access is not None
    return session.access


async def web_player(
    browser: httpx.AsyncClient, platform: Platform, username: str | None = None
) -> dict[str, str]:
    """Register through the pages; the API headers of that same player."""
    answer = await web_register(browser, username or unique_name("shopper"))
    assert answer.status_code == 303, answer.text
    return auth(token_of(browser, platform))


def pay_form(page_html: str, **fields: str) -> dict[str, str]:
    """A payment form's hidden fields as rendered (CSRF, Idempotency-Key) plus `fields`."""
    key = IDEMPOTENCY.search(page_html)
    assert key is not None, "the form has no Idempotency-Key"
    return {"csrf": csrf_of(page_html), "idempotency_key": key.group(1), **fields}


def card_fields(number: str = "4242424242424242") -> dict[str, str]:
    return {"card_number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"}


async def page_text(browser: httpx.AsyncClient, path: str) -> str:
    """A page that must be there (200), as HTML."""
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    return page.text


async def api(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    """What the API says (200) to the player of `headers`: the pages are checked against it."""
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()
