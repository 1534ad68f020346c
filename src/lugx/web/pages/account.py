"""Account pages: register, sign in, sign out, the profile, and the signed-in devices."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from starlette.responses import Response

from lugx.platform.errors import LugxError, TooManyRequests
from lugx.services.users.schemas import TokenPair
from lugx.web.forms import FORM, FieldErrors, api_errors, values_of
from lugx.web.http import Page, login_url, page, safe_next
from lugx.web.session import WebSession

PROFILE_FIELDS = ("display_name", "bio", "country", "avatar_url", "profile_visibility")


def _signed_in(p: Page, pair: TokenPair, username: str) -> None:
    p.visit.sign_in(
        WebSession(
            csrf=WebSession.anonymous().csrf,  # a new form secret for the new session
            access=pair.access_token,
            refresh=pair.refresh_token,
            session_id=str(pair.session_id),
            username=username,
        )
    )


@page
async def register_form(p: Page) -> Response:
    return p.render(
        "account/register.html", values={}, errors=FieldErrors(), next=_next(p, "/account")
    )


@page
async def register(p: Page) -> Response:
    values, errors = values_of(p.form), FieldErrors()
    password = p.field("password")
    if password != p.field("password_confirm"):
        errors.add("password_confirm", "The two passwords differ")
    body = {"username": p.field("username"), "email": p.field("email"), "password": password}
    if not errors:
        try:
            user = await p.ctx.users.register(body, headers=p.player_headers())
            pair = await p.ctx.users.login(
                {"login": user.username, "password": password}, headers=p.player_headers()
            )
        except LugxError as exc:
            if exc.status >= 500:
                raise
            errors = _account_errors(exc)
        else:
            _signed_in(p, pair, user.username)
            return p.redirect(_next(p, "/account"))
    return p.render(
        "account/register.html",
        status=400,
        values=values,
        errors=errors,
        next=_next(p, "/account"),
    )


def _account_errors(exc: LugxError) -> FieldErrors:
    if exc.code == "username-taken":
        return FieldErrors({"username": ["That username is taken"]})
    if exc.code == "email-taken":
        return FieldErrors({"email": ["An account with that e-mail address exists"]})
    return api_errors(exc)


def _next(p: Page, default: str = "/") -> str:
    return safe_next(p.field("next") or p.query("next") or default)


@page
async def login_form(p: Page) -> Response:
    if p.visit.principal is not None:
        return p.redirect(_next(p))
    return p.render("account/login.html", values={}, errors=FieldErrors(), next=_next(p))


@page
async def login(p: Page) -> Response:
    body = {"login": p.field("login"), "password": p.form.get("password") or ""}
    errors = FieldErrors()
    try:
        pair = await p.ctx.users.login(body, headers=p.player_headers())
    except TooManyRequests:
        errors.add(FORM, "Too many failed attempts. Wait a while and try again.")
    except LugxError as exc:
        if exc.status >= 500:
            raise
        if exc.status == 429:
            errors.add(FORM, "Too many failed attempts. Wait a while and try again.")
        elif exc.status == 401:
            errors.add(FORM, "That username or password is not right.")
        else:
            errors = api_errors(exc)
    else:
        me = await p.ctx.users.me(token=pair.access_token)
        _signed_in(p, pair, me.username)
        return p.redirect(_next(p))
    return p.render(
        "account/login.html", status=400, values=values_of(p.form), errors=errors, next=_next(p)
    )


@page
async def logout(p: Page) -> Response:
    """Revokes the platform session, not only the cookie: a copy of the cookie is then dead."""
    token = p.visit.token
    if token is not None:
        # Already signed out elsewhere, or users is down: the cookie goes anyway.
        with contextlib.suppress(LugxError):
            await p.ctx.users.logout(token=token)
    p.visit.sign_out()
    return p.redirect("/")


@page
async def profile(p: Page) -> Response:
    if p.visit.token is None:
        return p.redirect(login_url("/account"))
    me = await p.ctx.users.me(token=p.visit.token)
    values = {name: getattr(me, name) or "" for name in PROFILE_FIELDS}
    return p.render("account/profile.html", me=me, values=values, errors=FieldErrors(), saved=False)


@page
async def update_profile(p: Page) -> Response:
    if p.visit.token is None:
        return p.redirect(login_url("/account"))
    body: dict[str, Any] = {name: p.field(name) for name in PROFILE_FIELDS}
    for optional in ("country", "avatar_url"):
        body[optional] = body[optional] or None
    errors = FieldErrors()
    try:
        me = await p.ctx.users.update_me(body, token=p.visit.token)
    except LugxError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        errors = api_errors(exc)
        me = await p.ctx.users.me(token=p.visit.token)
        return p.render(
            "account/profile.html", status=400, me=me, values=body, errors=errors, saved=False
        )
    values = {name: getattr(me, name) or "" for name in PROFILE_FIELDS}
    return p.render("account/profile.html", me=me, values=values, errors=errors, saved=True)


@page
async def sessions(p: Page) -> Response:
    if p.visit.token is None:
        return p.redirect(login_url("/account/sessions"))
    devices = await p.ctx.users.sessions(token=p.visit.token)
    return p.render("account/sessions.html", devices=devices)


@page
async def revoke_session(p: Page) -> Response:
    if p.visit.token is None:
        return p.redirect(login_url("/account/sessions"))
    try:
        session_id = uuid.UUID(str(p.path_params["session_id"]))
    except ValueError:
        return p.render("error.html", status=404, title="Not found", message="No such device")
    await p.ctx.users.revoke_session(session_id, token=p.visit.token)
    if str(session_id) == p.visit.session.session_id:
        p.visit.sign_out()
        return p.redirect("/")
    return p.redirect("/account/sessions")
