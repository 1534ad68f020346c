"""The web store front: server-rendered pages over the services' typed clients.

`create_web_app(wiring)` builds it on a process's wiring: in `lugx up` the platform's (its
clients call the services in-process), in `lugx serve web` its own (clients over HTTP, tokens
checked with the users service's JWKS). It holds no database: what it shows it asks for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from lugx.platform.bootstrap import Wiring, build_wiring
from lugx.platform.net import ClientAddress
from lugx.platform.observability import ReadinessCheck, RequestContextMiddleware, check_readiness
from lugx.platform.settings import Settings
from lugx.services.catalog.client import CatalogClient
from lugx.services.purchases.client import PurchasesClient
from lugx.services.users.client import UsersClient
from lugx.web.cache import TtlCache
from lugx.web.clients import WebPayments, WebPurchases, WebReviews, WebShopping
from lugx.web.context import HERE, SHELF_TTL_SECONDS, WebContext, make_templates, slot_features
from lugx.web.http import SECURITY_HEADERS
from lugx.web.pages import account, library, publisher, reviews, shop, store
from lugx.web.session import SessionCodec


def routes() -> list[Route | Mount]:
    get, post = ["GET", "HEAD"], ["POST"]
    return [
        Route("/", store.home, methods=get),
        Route("/search", store.search, methods=get),
        Route("/search/suggest", store.suggest, methods=get),
        Route("/app/{app_id:int}", store.game, methods=get),
        Route("/app/{app_id:int}/{slug}", store.game, methods=get),
        Route("/register", account.register_form, methods=get),
        Route("/register", account.register, methods=post),
        Route("/login", account.login_form, methods=get),
        Route("/login", account.login, methods=post),
        Route("/logout", account.logout, methods=post),
        Route("/account", account.profile, methods=get),
        Route("/account", account.update_profile, methods=post),
        Route("/account/sessions", account.sessions, methods=get),
        Route("/account/sessions/{session_id}/revoke", account.revoke_session, methods=post),
        Route("/publisher", publisher.dashboard, methods=get),
        Route("/publisher/studio", publisher.create_studio, methods=post),
        Route("/publisher/games/new", publisher.new_game, methods=get),
        Route("/publisher/games/new", publisher.create_game, methods=post),
        Route("/publisher/games/{app_id:int}", publisher.edit_game, methods=get),
        Route("/publisher/games/{app_id:int}", publisher.update_game, methods=post),
        Route("/publisher/games/{app_id:int}/prices", publisher.update_prices, methods=post),
        Route("/publisher/games/{app_id:int}/status", publisher.set_status, methods=post),
        Route("/publisher/games/{app_id:int}/discounts", publisher.add_discount, methods=post),
        *shop_routes(),
        Route("/favicon.ico", _no_favicon, methods=get),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]


def shop_routes() -> list[Route]:
    """Phase 2: cart, checkout, orders, library, wishlist, wallet, reviews."""
    get, post = ["GET", "HEAD"], ["POST"]
    return [
        Route("/cart", shop.cart, methods=get),
        Route("/cart/add", shop.add_to_cart, methods=post),
        Route("/cart/remove", shop.remove_from_cart, methods=post),
        Route("/cart/coupon", shop.apply_coupon, methods=post),
        Route("/cart/coupon/remove", shop.remove_coupon, methods=post),
        Route("/checkout", shop.checkout_form, methods=get),
        Route("/checkout", shop.checkout, methods=post),
        Route("/payments/{payment_id}/confirm", shop.confirm_form, methods=get),
        Route("/payments/{payment_id}/confirm", shop.confirm, methods=post),
        Route("/orders", shop.orders, methods=get),
        Route("/orders/{order_id}", shop.order, methods=get),
        Route("/orders/{order_id}/receipt", shop.receipt, methods=get),
        Route("/orders/{order_id}/refund", shop.refund, methods=post),
        Route("/orders/{order_id}/cancel", shop.cancel, methods=post),
        Route("/library", library.library, methods=get),
        Route("/wishlist", library.wishlist, methods=get),
        Route("/wishlist/add", library.wish, methods=post),
        Route("/wishlist/{app_id:int}/remove", library.unwish, methods=post),
        Route("/wishlist/{app_id:int}/alert", library.set_alert, methods=post),
        Route("/account/wallet", library.wallet, methods=get),
        Route("/account/wallet/top-up", library.top_up, methods=post),
        Route("/app/{app_id:int}/reviews", reviews.post_review, methods=post),
        Route("/reviews/{review_id}/edit", reviews.edit_review, methods=post),
        Route("/reviews/{review_id}/delete", reviews.delete_review, methods=post),
        Route("/reviews/{review_id}/vote", reviews.vote, methods=post),
    ]


async def _no_favicon(_request: Request) -> Response:
    return PlainTextResponse("", status_code=204, headers={"cache-control": "max-age=86400"})


def create_web_app(wiring: Wiring, *, lifespan: Any = None) -> Starlette:
    settings = wiring.settings
    ctx = WebContext(
        settings=settings,
        users=wiring.clients.get(UsersClient),
        catalog=wiring.clients.get(CatalogClient),
        tokens=wiring.tokens,
        cache=wiring.cache,
        codec=SessionCodec(wiring.secret_key),
        client_address=ClientAddress(settings.trusted_proxies),
        templates=make_templates(),
        public=TtlCache(ttl_seconds=SHELF_TTL_SECONDS),
        features=slot_features(),
        shopping=wiring.clients.get(WebShopping),
        purchases=wiring.clients.get(WebPurchases),
        payments=wiring.clients.get(WebPayments),
        reviews=wiring.clients.get(WebReviews),
        ownership=wiring.clients.get(
            PurchasesClient, service_token=partial(wiring.service_tokens.issue, "web")
        ),
    )
    app = Starlette(
        routes=routes(),
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.web = ctx
    return app


def _plain_page(request: Request, status: int, title: str, message: str) -> Response:
    ctx: WebContext = request.app.state.web
    body = ctx.render(
        "error.html",
        visit=None,
        csrf_field="csrf",
        request_path=request.url.path,
        request_query="",
        title=title,
        message=message,
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _plain_page(request, 404, "Not found", "There is no page at this address.")
    if exc.status_code == 405:
        return _plain_page(request, 405, "Not allowed", "This page does not take that request.")
    return _plain_page(request, exc.status_code, "Error", "That request could not be served.")


async def _unexpected(request: Request, exc: Exception) -> Response:
    import structlog

    structlog.get_logger(__name__).exception("web page failed", path=request.url.path)
    return _plain_page(request, 500, "Something went wrong", "Something went wrong on our side.")


def web_process_app(settings: Settings) -> ASGIApp:
    """`lugx serve web`: the store front in its own process, talking HTTP to the services, with
    what every Lugx process has: request ids and metrics, /healthz, /readyz (the cache and the
    users service it signs players in with), /metrics."""
    wiring = build_wiring(settings, holds_signing_key=False)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await wiring.close()

    app = create_web_app(wiring, lifespan=lifespan)
    users = wiring.clients.http("users")

    async def users_ready() -> None:
        (await users.get("/readyz")).raise_for_status()

    checks: dict[str, ReadinessCheck] = {"cache": wiring.cache.ping, "users": users_ready}
    app.router.routes[:0] = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", partial(_readyz, checks), methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    return RequestContextMiddleware(app, "web")


async def _healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _readyz(checks: dict[str, ReadinessCheck], _request: Request) -> Response:
    ready, results = await check_readiness(checks)
    body = {"status": "ok" if ready else "unavailable", "checks": results}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _metrics(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
