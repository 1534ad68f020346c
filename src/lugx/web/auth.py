"""Who is visiting: the session cookie read, its access token verified locally (the users
service's keys), and refreshed with the refresh token when it has expired.

Refresh tokens rotate and a reused one signs the whole session out, so two pages loading at
once with the same expired token must not both refresh: in this process one refresh per token
runs at a time (the others wait for it), and its result is kept for a minute in the shared
cache (encrypted), so another web process holding the same old cookie gets the same new pair.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field

import orjson
import structlog

from lugx.platform.auth import Principal
from lugx.platform.errors import LugxError, ServiceUnavailable, Unauthorized
from lugx.web.context import WebContext
from lugx.web.session import WebSession

log = structlog.get_logger(__name__)

REFRESH_AHEAD_SECONDS = 20  # refresh a little early: the token must outlive the page's calls
REFRESHED_TTL_SECONDS = 60


@dataclass
class Visit:
    """One request's visitor. `dirty`: the cookie must be written back."""

    session: WebSession
    principal: Principal | None = None
    dirty: bool = False
    had_cookie: bool = False
    notices: list[str] = field(default_factory=list)

    @property
    def token(self) -> str | None:
        return self.session.access if self.principal is not None else None

    def csrf_token(self) -> str:
        # Reading it means a form is on the page: the cookie that holds it must exist.
        if not self.had_cookie:
            self.dirty = True
        return self.session.csrf

    def sign_in(self, session: WebSession) -> None:
        self.session, self.dirty = session, True

    def sign_out(self) -> None:
        self.session = WebSession.anonymous()
        self.principal, self.dirty = None, True

    def has_role(self, *roles: str) -> bool:
        return self.principal is not None and self.principal.has_role(*roles)


_refreshing: dict[str, asyncio.Future[bytes | None]] = {}


async def resolve(ctx: WebContext, cookie: str | None, headers: dict[str, str]) -> Visit:
    session = ctx.codec.decode(cookie)
    if session is None:
        return Visit(WebSession.anonymous(), had_cookie=False, dirty=cookie is not None)
    visit = Visit(session, had_cookie=True)
    if not session.signed_in or session.access is None:
        return visit
    try:
        principal = await ctx.tokens.verify(session.access)
        if principal.expires_at - time.time() > REFRESH_AHEAD_SECONDS:
            visit.principal = principal
            return visit
    except Unauthorized as exc:
        if exc.code != "token-expired":  # revoked, forged, unknown key: signed out
            visit.sign_out()
            return visit
    await _refresh(ctx, visit, headers)
    return visit


async def _refresh(ctx: WebContext, visit: Visit, headers: dict[str, str]) -> None:
    refresh_token = visit.session.refresh or ""
    key = "web:refreshed:" + hashlib.sha256(refresh_token.encode()).hexdigest()
    pending = _refreshing.get(key)
    if pending is None:
        pending = asyncio.get_running_loop().create_future()
        _refreshing[key] = pending
        try:
            pending.set_result(await _refresh_once(ctx, key, refresh_token, headers))
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()
        finally:
            _refreshing.pop(key, None)
    try:
        pair = await asyncio.shield(pending)
    except ServiceUnavailable:
        # The users service is down: keep the cookie (it may work again) but show a stranger.
        visit.notices.append("Signing you in is not possible right now; try again shortly.")
        return
    if pair is None:
        visit.sign_out()
        return
    tokens = orjson.loads(pair)
    visit.sign_in(
        WebSession(
            csrf=visit.session.csrf,
            access=tokens["access_token"],
            refresh=tokens["refresh_token"],
            session_id=tokens["session_id"],
            username=visit.session.username,
        )
    )
    try:
        visit.principal = await ctx.tokens.verify(tokens["access_token"])
    except Unauthorized:
        visit.sign_out()


async def _refresh_once(
    ctx: WebContext, key: str, refresh_token: str, headers: dict[str, str]
) -> bytes | None:
    """The new pair as JSON bytes, or None when the session is over."""
    kept = await ctx.cache.get(key)
    if kept is not None:
        opened = ctx.codec.open(kept)
        if opened is not None:
            return opened
    try:
        pair = await ctx.users.refresh(refresh_token, headers=headers)
    except ServiceUnavailable:
        raise
    except LugxError as exc:
        log.info("web session ended at refresh", code=exc.code)
        return None
    data = orjson.dumps(pair.model_dump(mode="json"))
    await ctx.cache.set(key, ctx.codec.seal(data), ttl=REFRESHED_TTL_SECONDS)
    return data
