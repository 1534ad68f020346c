"""Register, sign in and out, the profile, devices: the session cookie, its tokens and the
forms' CSRF protection."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import httpx
import pytest

from lugx.platform.auth import TokenIssuer
from lugx.platform.bootstrap import Platform
from lugx.web.session import COOKIE, SessionCodec, WebSession
from tests.users.factories import PASSWORD, auth, signed_up
from tests.web.conftest import web_gateway
from tests.web.helpers import form_token, post_form, web_login, web_register


def session_of(browser: httpx.AsyncClient, platform: Platform) -> WebSession:
    """What the visitor's cookie holds (the test knows the key; a visitor does not)."""
    codec = SessionCodec(platform.wiring.secret_key)
    session = codec.decode(browser.cookies.get(COOKIE))
    assert session is not None
    return session


def set_session(browser: httpx.AsyncClient, platform: Platform, session: WebSession) -> None:
    value = SessionCodec(platform.wiring.secret_key).encode(session)
    browser.cookies.set(COOKIE, value, domain="lugx.test", path="/")


async def test_register_signs_the_new_player_in(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    answer = await web_register(browser, "newcomer")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account"
    page = await browser.get("/account")
    assert page.status_code == 200
    assert "@newcomer" in page.text
    tokens = session_of(browser, platform)
    me = await client.get("/api/v1/users/me", headers=auth(tokens.access or ""))
    assert me.json()["username"] == "newcomer"


async def test_register_errors_sit_next_to_their_field_and_create_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await signed_up(client, "taken")
    taken = await web_register(browser, "taken")
    assert taken.status_code == 400
    assert 'id="username-error"' in taken.text
    assert "That username is taken" in taken.text
    weak = await post_form(
        browser,
        "/register",
        {
            "username": "weakling",
            "email": "weak@example.com",
            "password": "abc",
            "password_confirm": "abc",
        },
        token_from="/register",
    )
    assert weak.status_code == 400
    assert 'id="password-error"' in weak.text
    assert "at least 10 characters" in weak.text
    assert 'value="weakling"' in weak.text  # what was typed stays, never the password
    differ = await post_form(
        browser,
        "/register",
        {
            "username": "twice",
            "email": "twice@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD + "x",
        },
        token_from="/register",
    )
    assert differ.status_code == 400
    assert "The two passwords differ" in differ.text
    for name in ("weakling", "twice"):
        assert (await client.get(f"/api/v1/users/{name}")).status_code == 404


async def test_login_and_logout_revokes_the_platform_session(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    await signed_up(client, "returning")
    wrong = await web_login(browser, "returning", "not the password at all")
    assert wrong.status_code == 400
    assert "username or password is not right" in wrong.text
    assert not session_of(browser, platform).signed_in
    right = await web_login(browser, "returning", next_path="/account/sessions")
    assert right.status_code == 303
    assert right.headers["location"] == "/account/sessions"
    tokens = session_of(browser, platform)
    home = await browser.get("/")
    assert "<summary>returning</summary>" in home.text
    out = await post_form(browser, "/logout", {}, token_from="/")
    assert out.status_code == 303
    assert not session_of(browser, platform).signed_in
    after = await client.get("/api/v1/users/me", headers=auth(tokens.access or ""))
    assert after.status_code == 401  # not only the cookie: the session itself is over
    assert "Sign in" in (await browser.get("/")).text


async def test_login_never_redirects_to_another_site(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await signed_up(client, "redirected")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        browser.cookies.clear()
        answer = await web_login(browser, "redirected", next_path=target)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"


async def test_the_session_cookie_flags(platform: Platform) -> None:
    for peer, proto, secure in (("203.0.113.7", "https", False), ("127.0.0.1", "https", True)):
        transport = httpx.ASGITransport(app=web_gateway(platform), client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://lugx.test") as http:
            page = await http.get("/login", headers={"x-forwarded-proto": proto})
        cookie = page.headers["set-cookie"].lower()
        assert cookie.startswith(f"{COOKIE}=")
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "path=/" in cookie
        # Secure only when the request really came over HTTPS (a trusted proxy says so).
        assert ("secure" in cookie) is secure


async def test_posts_without_a_valid_form_token_change_nothing(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    await signed_up(client, "guarded")
    await web_login(browser, "guarded")
    good = await form_token(browser, "/account")
    attempts = [
        browser.post("/account", data={"display_name": "Hacked"}),
        browser.post("/account", data={"display_name": "Hacked", "csrf": "forged"}),
        browser.post(
            "/account",
            data={"display_name": "Hacked", "csrf": good},
            headers={"origin": "https://evil.example"},
        ),
        browser.post("/account", json={"display_name": "Hacked", "csrf": good}),
    ]
    for answer in await asyncio.gather(*attempts):
        assert answer.status_code == 403
    me = await client.get("/api/v1/users/guarded")
    assert me.json()["display_name"] == "guarded"
    # and the real form works
    saved = await browser.post(
        "/account",
        data={"display_name": "Guarded One", "csrf": good, "profile_visibility": "public"},
    )
    assert saved.status_code == 200
    assert "Your profile is saved" in saved.text
    assert (await client.get("/api/v1/users/guarded")).json()["display_name"] == "Guarded One"


async def test_a_login_without_a_form_token_signs_nobody_in(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await signed_up(client, "csrfvictim")
    answer = await browser.post("/login", data={"login": "csrfvictim", "password": PASSWORD})
    assert answer.status_code == 403
    assert "Sign in" in (await browser.get("/")).text


async def test_profile_errors_are_shown_next_to_the_field(
    browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await signed_up(client, "profiled")
    await web_login(browser, "profiled")
    answer = await post_form(
        browser,
        "/account",
        {"display_name": "Fine", "country": "FRANCE", "profile_visibility": "public"},
        token_from="/account",
    )
    assert answer.status_code == 400
    assert 'id="country-error"' in answer.text
    assert (await client.get("/api/v1/users/profiled")).json()["display_name"] == "profiled"


async def test_a_forged_cookie_is_a_stranger(browser: httpx.AsyncClient) -> None:
    browser.cookies.set(COOKIE, "AAAA" * 40, domain="lugx.test", path="/")
    page = await browser.get("/account")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


async def test_devices_can_be_signed_out(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    account = await signed_up(client, "traveller")  # one device: the API login
    await web_login(browser, "traveller")
    page = await browser.get("/account/sessions")
    assert page.status_code == 200
    assert "this device" in page.text
    token = await form_token(browser, "/account/sessions")
    other = await browser.post(
        f"/account/sessions/{account.session_id}/revoke", data={"csrf": token}
    )
    assert other.status_code == 303
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 401
    mine = session_of(browser, platform).session_id
    out = await browser.post(f"/account/sessions/{mine}/revoke", data={"csrf": token})
    assert out.status_code == 303
    assert not session_of(browser, platform).signed_in
    bogus = await post_form(
        browser, f"/account/sessions/{uuid.uuid4()}/revoke", {}, token_from="/login"
    )
    assert bogus.status_code == 303  # signed out by then: sent to sign in


def expired_token(platform: Platform, session: WebSession) -> str:
    signing_key = platform.wiring.signing_key
    assert signing_key is not None
    issuer = TokenIssuer(signing_key, issuer=platform.settings.jwt_issuer, ttl_seconds=-60)
    principal_of = platform.wiring.tokens._verified  # the verifier's cache: the live token's claims
    live = principal_of[session.access or ""]
    return issuer.issue(
        user_id=live.user_id,
        account_id=live.account_id,
        roles=sorted(live.roles),
        session_id=live.session_id,
    )


async def test_an_expired_access_token_is_refreshed_once_for_pages_loading_together(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, platform: Platform
) -> None:
    await signed_up(client, "sleepy")
    await web_login(browser, "sleepy")
    await browser.get("/account")  # verifies the live token (fills the verifier's cache)
    live = session_of(browser, platform)
    stale = replace(live, access=expired_token(platform, live))
    set_session(browser, platform, stale)
    # Five tabs at once, all with the expired token and the same refresh token: a second use
    # of a refresh token would sign the whole session out.
    pages = await asyncio.gather(*(browser.get("/account") for _ in range(5)))
    assert all(page.status_code == 200 and "@sleepy" in page.text for page in pages)
    renewed = session_of(browser, platform)
    assert renewed.refresh != live.refresh
    assert renewed.session_id == live.session_id
    me = await client.get("/api/v1/users/me", headers=auth(renewed.access or ""))
    assert me.status_code == 200
    # The cookie still holding the old pair (another tab) gets the same new pair, not a reuse.
    set_session(browser, platform, stale)
    again = await browser.get("/account")
    assert again.status_code == 200
    assert "@sleepy" in again.text


@pytest.mark.parametrize("path", ["/account", "/account/sessions", "/publisher"])
async def test_signed_in_pages_send_strangers_to_sign_in(
    browser: httpx.AsyncClient, path: str
) -> None:
    answer = await browser.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"
