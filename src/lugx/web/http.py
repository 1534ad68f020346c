"""The plumbing of every page: the visitor resolved from the cookie, the CSRF check of every
POST, the form parsed, the cookie written back, safe headers, and service errors turned into
pages (a missing game is a 404 page, a service that is down a 503 page)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import structlog
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lugx.platform.errors import LugxError, ServiceUnavailable
from lugx.web.auth import Visit, resolve
from lugx.web.context import WebContext
from lugx.web.session import COOKIE, CSRF_FIELD

log = structlog.get_logger(__name__)

MAX_FORM_BYTES = 256 * 1024
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: https: http:; script-src 'self'; "
        "style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


class Page:
    """One request to one page: what the handler needs, and how it answers."""

    def __init__(self, request: Request, ctx: WebContext, visit: Visit) -> None:
        self.request = request
        self.ctx = ctx
        self.visit = visit
        self.form = FormData()

    @property
    def path_params(self) -> dict[str, Any]:
        return self.request.path_params

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def field(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def fields(self, name: str) -> list[str]:
        return [v for v in self.form.getlist(name) if isinstance(v, str) and v]

    def player_headers(self) -> dict[str, str]:
        """Sent with sign-in calls: throttling and the session list see the player's address
        and device, not the web process's."""
        scope = self.request.scope
        headers = {"x-forwarded-for": self.ctx.client_address(scope)}
        agent = self.request.headers.get("user-agent")
        if agent:
            headers["user-agent"] = agent[:512]
        return headers

    def render(self, template: str, *, status: int = 200, **values: Any) -> Response:
        body = self.ctx.render(
            template,
            visit=self.visit,
            csrf_field=CSRF_FIELD,
            request_path=self.request.url.path,
            request_query=self.request.url.query,
            **values,
        )
        return self.finish(HTMLResponse(body, status_code=status))

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        response.headers["cache-control"] = "private, no-cache"
        if self.visit.dirty:
            self._write_cookie(response)
        return response

    def _write_cookie(self, response: Response) -> None:
        secure = self.ctx.client_address.forwarded_proto(self.request.scope) == "https"
        days = self.ctx.settings.refresh_token_ttl_days
        response.set_cookie(
            COOKIE,
            self.ctx.codec.encode(self.visit.session),
            max_age=days * 86_400 if self.visit.session.signed_in else None,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )


Handler = Callable[[Page], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Make a Starlette endpoint of a page handler. Every POST must carry the form's CSRF token
    (and, when the browser says where it comes from, come from this site) or nothing happens."""

    async def endpoint(request: Request) -> Response:
        ctx: WebContext = request.app.state.web
        visit = await resolve(ctx, request.cookies.get(COOKIE), _forwarding(request, ctx))
        current = Page(request, ctx, visit)
        if request.method == "POST":
            refused = await _refuse_forgery(current)
            if refused is not None:
                return refused
        try:
            return await handler(current)
        except LugxError as exc:
            return error_page(current, exc)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _forwarding(request: Request, ctx: WebContext) -> dict[str, str]:
    return {"x-forwarded-for": ctx.client_address(request.scope)}


async def _refuse_forgery(current: Page) -> Response | None:
    request = current.request
    origin = request.headers.get("origin")
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if origin and urlsplit(origin).netloc not in hosts:
        return _forbidden(current, "This form was sent from another site.")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _forbidden(current, "This form was not sent by our pages.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return current.render("error.html", status=413, title="Too much", message="Too much text.")
    pairs: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    )
    current.form = FormData(pairs)
    if not current.visit.session.check_csrf(current.field(CSRF_FIELD) or None):
        return _forbidden(
            current, "This form has expired or was not sent by our pages. Reload and try again."
        )
    return None


def _forbidden(current: Page, message: str) -> Response:
    # A fresh form token travels with the refusal, so the reloaded page works.
    return current.render("error.html", status=403, title="Refused", message=message)


def error_page(current: Page, exc: LugxError) -> Response:
    status = exc.status
    if status == 401:
        current.visit.sign_out()
        return current.redirect(login_url(current.request.url.path))
    if status == 404:
        return current.render("error.html", status=404, title="Not found", message=exc.detail)
    if status == 403:
        return current.render("error.html", status=403, title="Not allowed", message=exc.detail)
    if isinstance(exc, ServiceUnavailable):
        message = "Part of the store is not answering right now. Please try again in a moment."
        return current.render("error.html", status=503, title="Unavailable", message=message)
    log.info("web page refused by a service", status=status, code=exc.code)
    return current.render(
        "error.html",
        status=status if 400 <= status < 500 else 502,
        title="Error",
        message=exc.detail,
    )


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


def safe_next(value: str) -> str:
    """A local path to go back to after signing in: never another site (`//evil`, `\\evil`)."""
    if not value.startswith("/") or value.startswith(("//", "/\\")) or "\n" in value:
        return "/"
    return value
