"""The store's public pages: home, search and browse, suggestions as you type, a game."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.responses import JSONResponse, Response

from lugx.platform.errors import LugxError
from lugx.services.catalog.schemas import GameDetail, GenreRead, SearchPage, ShelfPage
from lugx.web.context import WebContext, money
from lugx.web.forms import FieldErrors
from lugx.web.http import Page, page
from lugx.web.pages.game_player import PlayerView, player_view, reviews_of

HOME_SHELVES = (
    ("featured", "Featured", 6),
    ("specials", "Specials", 8),
    ("new-and-trending", "New and trending", 8),
    ("top-sellers", "Top sellers", 10),
    ("coming-soon", "Coming soon", 6),
)
GENRE_SHELVES = 4  # the first genres of the store's list get a shelf each
GENRE_SHELF_SIZE = 6
SORTS = {
    "": "Best match",
    "top_sellers": "Top sellers",
    "release_date": "Newest",
    "price": "Lowest price",
    "review_score": "Best reviewed",
    "name": "Name",
}
PRICE_BANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "free": ("Free", {"free": "true"}),
    "under_5": ("Under $5", {"price_min": 1, "price_max": 499}),
    "5_10": ("$5 to $10", {"price_min": 500, "price_max": 999}),
    "10_20": ("$10 to $20", {"price_min": 1000, "price_max": 1999}),
    "20_40": ("$20 to $40", {"price_min": 2000, "price_max": 3999}),
    "over_40": ("$40 and more", {"price_min": 4000}),
}
PLATFORMS = {"windows": "Windows", "mac": "macOS", "linux": "Linux"}
MULTI = ("genre", "tag", "platform")
PAGE_SIZE = 24


async def genres_of(ctx: WebContext) -> list[GenreRead]:
    return await ctx.public.get("genres", ctx.catalog.genres)


async def _shelf(ctx: WebContext, name: str, limit: int) -> ShelfPage:
    async def load() -> ShelfPage:
        try:
            return await ctx.catalog.shelf(name, limit=limit)
        except LugxError as exc:
            if exc.status >= 500:
                raise
            # A genre no game was ever filed under has no shelf yet: the home page goes on.
            return ShelfPage(shelf=name, items=[])

    return await ctx.public.get(f"shelf:{name}:{limit}", load)


@page
async def home(p: Page) -> Response:
    # The shelves are the same for every visitor: rendered once per few seconds, so a home
    # page is one template fill around them (the account menu is the visitor's own).
    section = await p.ctx.public.get("home:section", lambda: _home_section(p.ctx))
    return p.render("home.html", section=section)


async def _home_section(ctx: WebContext) -> Markup:
    genres = (await genres_of(ctx))[:GENRE_SHELVES]
    shelves = await asyncio.gather(
        *(_shelf(ctx, name, limit) for name, _, limit in HOME_SHELVES),
        *(_shelf(ctx, f"genres/{g.slug}", GENRE_SHELF_SIZE) for g in genres),
    )
    named = dict(zip((name for name, _, _ in HOME_SHELVES), shelves, strict=False))
    html = ctx.templates.get_template("home_shelves.html").render(
        shelves=[(title, named[name].items) for name, title, _ in HOME_SHELVES],
        featured=named["featured"].items,
        specials=named["specials"].items,
        genre_shelves=list(zip(genres, shelves[len(HOME_SHELVES) :], strict=True)),
    )
    # Our own template's output, every value in it escaped when it was rendered.
    return Markup(html)  # noqa: S704 - see above


def _search_params(p: Page) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the page was asked, what the catalog is asked). Unknown values are passed on: the
    catalog refuses them with a problem the page shows."""
    q = p.query("q").strip()[:200]
    asked: dict[str, Any] = {"q": q, "sort": p.query("sort"), "price": p.query("price")}
    asked["on_sale"] = p.query("on_sale") == "1"
    params: dict[str, Any] = {"q": q, "limit": PAGE_SIZE, "facets": "true"}
    for name in MULTI:
        asked[name] = p.request.query_params.getlist(name)[:10]
        if asked[name]:
            params[name] = asked[name]
    if asked["sort"] in SORTS and asked["sort"]:
        params["sort"] = asked["sort"]
    if asked["sort"] == "" and not q:
        params["sort"] = "top_sellers"
    if asked["price"] in PRICE_BANDS:
        params.update(PRICE_BANDS[asked["price"]][1])
    if asked["on_sale"]:
        params["on_sale"] = "true"
    cursor = p.query("cursor")
    if cursor:
        params["cursor"] = cursor[:512]
    return asked, params


def _link(asked: dict[str, Any], **changes: Any) -> str:
    """The search page's URL with `changes` (None drops a value); the cursor never carries
    over, since a filter change starts from the first page."""
    state = {**asked, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in state.items():
        if value in (None, "", False, []):
            continue
        if isinstance(value, list):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, "1" if value is True else str(value)))
    return "/search" + ("?" + urlencode(pairs) if pairs else "")


def _toggle(asked: dict[str, Any], name: str, value: str) -> str:
    current: list[str] = list(asked[name])
    chosen = [v for v in current if v != value] if value in current else [*current, value]
    return _link(asked, **{name: chosen})


@page
async def search(p: Page) -> Response:
    asked, params = _search_params(p)
    genres = await genres_of(p.ctx)
    problem: str | None = None
    status = 200
    try:
        result = await p.ctx.catalog.search(params)
    except LugxError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        problem, status = _search_problem(exc), 400
        result = SearchPage(items=[])
    next_link = None
    if result.next_cursor:
        next_link = (
            _link(asked)
            + ("&" if "?" in _link(asked) else "?")
            + urlencode({"cursor": result.next_cursor})
        )
    return p.render(
        "search.html",
        status=status,
        asked=asked,
        result=result,
        problem=problem,
        genre_names={g.slug: g.name for g in genres},
        sorts=SORTS,
        price_bands={k: v[0] for k, v in PRICE_BANDS.items()},
        platforms=PLATFORMS,
        link=lambda **kw: _link(asked, **kw),
        toggle=lambda name, value: _toggle(asked, name, value),
        next_link=next_link,
        first_link=_link(asked) if p.query("cursor") else None,
    )


def _search_problem(exc: LugxError) -> str:
    if exc.code in ("invalid-cursor", "cursor-mismatch"):
        return "That page of results is out of date; here is the first page again."
    return "Some of the filters were not understood: " + exc.detail


@page
async def suggest(p: Page) -> Response:
    """Search as you type: a few titles for what was typed, for the header's search box."""
    q = p.query("q").strip()[:100]
    if not q:
        return JSONResponse({"items": []})

    async def load() -> list[dict[str, Any]]:
        found = await p.ctx.catalog.suggest(q, limit=6)
        return [
            {
                "title": s.title,
                "url": f"/app/{s.app_id}/{s.slug}",
                "price": "Free" if s.final_price.amount == 0 else money(s.final_price),
                "image": s.header_image,
            }
            for s in found.items
        ]

    items = await p.ctx.public.get(f"suggest:{q.lower()}", load)
    return JSONResponse({"items": items}, headers={"cache-control": "public, max-age=15"})


@page
async def game(p: Page) -> Response:
    return await game_page(p, int(p.path_params["app_id"]))


async def game_page(
    p: Page,
    app_id: int,
    *,
    status: int = 200,
    review_errors: FieldErrors | None = None,
    review_values: dict[str, str] | None = None,
) -> Response:
    """The game page; a refused review form is shown again on it, next to its fields."""
    detail = await p.ctx.catalog.game_for(app_id, token=p.visit.token)
    related = await _related(p.ctx, detail)
    principal, token = p.visit.principal, p.visit.token
    reviews, view = await asyncio.gather(
        reviews_of(p.ctx, detail.app_id),
        player_view(p.ctx, principal.user_id, token, detail, related)
        if principal is not None and token is not None
        else _stranger(),
    )
    mine = view.my_review
    values = review_values or (
        {"body": mine.body, "recommended": "yes" if mine.recommended else "no"} if mine else {}
    )
    return p.render(
        "game.html",
        status=status,
        game=detail,
        related=related,
        player=view,
        reviews=reviews[0],
        authors=reviews[1],
        review_errors=review_errors or FieldErrors(),
        review_values=values,
        note={"note": p.query("note")[:200], "problem": p.query("problem")[:200]},
    )


async def _stranger() -> PlayerView:
    return PlayerView()


async def _related(ctx: WebContext, detail: GameDetail) -> dict[int, GameDetail]:
    """The base game of a DLC and the bundles holding this game, by app_id (missing ones, e.g.
    unpublished, are left out)."""
    wanted = [*detail.bundles[:4], *([detail.base_game] if detail.base_game else [])]
    wanted += detail.bundle_items[:12]

    async def one(app_id: int) -> GameDetail | None:
        try:
            return await ctx.public.get(f"game:{app_id}", lambda: ctx.catalog.game(app_id))
        except LugxError:
            return None

    found = await asyncio.gather(*(one(a) for a in wanted))
    return {g.app_id: g for g in found if g is not None}
