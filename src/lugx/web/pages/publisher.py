"""The publisher's pages: their games, create and edit a listing, prices, publish, discounts.
The catalog decides who may change what (a publisher only its own games); these pages only
shape forms into its API and show its answers."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from starlette.responses import Response

from lugx.platform.errors import LugxError
from lugx.platform.money import SUPPORTED_CURRENCIES
from lugx.services.catalog.schemas import GameDetail
from lugx.web.forms import (
    FORM,
    FieldErrors,
    api_errors,
    cents_text,
    parse_date,
    parse_int,
    parse_price,
    parse_utc,
    split_list,
    values_of,
)
from lugx.web.http import Handler, Page, login_url, page
from lugx.web.pages.common import raise_unless_refusal
from lugx.web.pages.store import PLATFORMS, genres_of

FEATURES = {
    "single_player": "Single-player",
    "multiplayer": "Multiplayer",
    "co_op": "Co-op",
    "controller": "Controller support",
    "vr": "VR",
}
TYPES = {"game": "Game", "dlc": "DLC", "soundtrack": "Soundtrack"}
REGIONAL = sorted(SUPPORTED_CURRENCIES - {"USD"})
# API field -> form field, where they differ.
ALIASES = {"system_requirements": "requirements_minimum", "base_game": "base_game"}


def _refuse(p: Page) -> Response | None:
    if p.visit.principal is None:
        return p.redirect(login_url(p.request.url.path))
    if not p.visit.has_role("publisher", "admin"):
        return p.render(
            "error.html",
            status=403,
            title="Publishers only",
            message="These pages are for studios. Ask an administrator for the publisher role.",
        )
    return None


def _publishers_only(handler: Handler) -> Handler:
    """Signed in with the publisher (or admin) role, or refused before the handler (_refuse)."""

    @functools.wraps(handler)
    async def guarded(p: Page) -> Response:
        refused = _refuse(p)
        return refused if refused is not None else await handler(p)

    return guarded


@page
@_publishers_only
async def dashboard(p: Page) -> Response:
    token = p.visit.token or ""
    studios = await p.ctx.catalog.my_publishers(token=token)
    games = await p.ctx.catalog.my_games(token=token) if studios else []
    return p.render(
        "publisher/dashboard.html", studios=studios, games=games, errors=FieldErrors(), values={}
    )


@page
@_publishers_only
async def create_studio(p: Page) -> Response:
    try:
        await p.ctx.catalog.create_publisher({"name": p.field("name")}, token=p.visit.token or "")
    except LugxError as exc:
        if exc.status >= 500:
            raise
        return p.render(
            "publisher/dashboard.html",
            status=400,
            studios=[],
            games=[],
            errors=api_errors(exc),
            values=values_of(p.form),
        )
    return p.redirect("/publisher")


def _game_body(p: Page, errors: FieldErrors, *, creating: bool) -> dict[str, Any]:
    """The listing fields of the form, as the catalog's API takes them."""
    body: dict[str, Any] = {
        "title": p.field("title"),
        "short_description": p.field("short_description"),
        "long_description": p.form.get("long_description") or "",
        "developers": split_list(p.field("developers")),
        "release_date": _iso(parse_date(p.field("release_date"), errors, "release_date")),
        "coming_soon": p.field("coming_soon") == "1",
        "early_access": p.field("early_access") == "1",
        "platforms": p.fields("platform"),
        "features": p.fields("feature"),
        "genres": p.fields("genre"),
        "tags": split_list(p.field("tags").lower()),
        "system_requirements": {
            "minimum": _requirements(p.field("requirements_minimum")),
            "recommended": _requirements(p.field("requirements_recommended")),
        },
    }
    if creating:
        body["type"] = p.field("type") or "game"
        if body["type"] == "dlc":
            body["base_game"] = parse_int(p.field("base_game"), errors, "base_game")
        price = parse_price(p.field("price"), errors, "price")
        body["price"] = {"amount": price or 0, "currency": "USD"}
    return body


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _requirements(text: str) -> dict[str, str]:
    """'OS: Windows 10' lines -> {'os': 'Windows 10'}."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and value.strip():
            found[key.strip().lower()[:40]] = value.strip()
    return found


def _requirements_text(found: dict[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in found.items())


async def _form_page(
    p: Page,
    *,
    game: GameDetail | None,
    values: dict[str, Any],
    errors: FieldErrors,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    discounts = []
    if game is not None:
        discounts = await p.ctx.catalog.discounts(game.app_id, token=p.visit.token or "")
    return p.render(
        "publisher/game_form.html",
        status=status,
        game=game,
        values=values,
        errors=errors,
        genres=await genres_of(p.ctx),
        platforms=PLATFORMS,
        features=FEATURES,
        types=TYPES,
        regional=REGIONAL,
        discounts=discounts,
        notice=notice,
    )


def _multi(p: Page) -> dict[str, Any]:
    values = values_of(p.form)
    values.update(platform=p.fields("platform"), feature=p.fields("feature"))
    values["genre"] = p.fields("genre")
    return values


@page
@_publishers_only
async def new_game(p: Page) -> Response:
    values = {"platform": ["windows"], "feature": ["single_player"], "genre": [], "type": "game"}
    return await _form_page(p, game=None, values=values, errors=FieldErrors())


@page
@_publishers_only
async def create_game(p: Page) -> Response:
    errors = FieldErrors()
    body = _game_body(p, errors, creating=True)
    if not errors:
        try:
            created = await p.ctx.catalog.create_game(body, token=p.visit.token or "")
        except LugxError as exc:
            raise_unless_refusal(exc)
            errors = api_errors(exc, ALIASES)
        else:
            return p.redirect(f"/publisher/games/{created.app_id}?created=1")
    return await _form_page(p, game=None, values=_multi(p), errors=errors, status=400)


def _values_of_game(game: GameDetail) -> dict[str, Any]:
    return {
        "title": game.title,
        "short_description": game.short_description,
        "long_description": game.long_description,
        "developers": ", ".join(game.developers),
        "release_date": game.release_date.isoformat() if game.release_date else "",
        "coming_soon": "1" if game.coming_soon else "",
        "early_access": "1" if game.early_access else "",
        "platform": list(game.platforms),
        "feature": list(game.features),
        "genre": [g.slug for g in game.genres],
        "tags": ", ".join(t.slug for t in game.tags),
        "requirements_minimum": _requirements_text(game.system_requirements.minimum),
        "requirements_recommended": _requirements_text(game.system_requirements.recommended),
        "price": cents_text(game.price.amount),
        **{f"price_{c}": cents_text(game.regional_prices.get(c)) for c in REGIONAL},
    }


async def _managed(p: Page) -> GameDetail:
    return await p.ctx.catalog.game_for(int(p.path_params["app_id"]), token=p.visit.token)


@page
@_publishers_only
async def edit_game(p: Page) -> Response:
    game = await _managed(p)
    notice = "Your game was created as a draft." if p.query("created") else None
    notice = "Saved." if p.query("saved") else notice
    return await _form_page(
        p, game=game, values=_values_of_game(game), errors=FieldErrors(), notice=notice
    )


async def _update(p: Page, body: dict[str, Any], errors: FieldErrors) -> Response:
    game = await _managed(p)
    if not errors:
        try:
            await p.ctx.catalog.update_game(game.app_id, body, token=p.visit.token or "")
        except LugxError as exc:
            raise_unless_refusal(exc)
            errors = api_errors(exc, ALIASES)
        else:
            return p.redirect(f"/publisher/games/{game.app_id}?saved=1")
    values = {**_values_of_game(game), **_multi(p)}
    return await _form_page(p, game=game, values=values, errors=errors, status=400)


@page
@_publishers_only
async def update_game(p: Page) -> Response:
    errors = FieldErrors()
    return await _update(p, _game_body(p, errors, creating=False), errors)


@page
@_publishers_only
async def update_prices(p: Page) -> Response:
    errors = FieldErrors()
    price = parse_price(p.field("price"), errors, "price")
    if price is None and "price" not in errors:
        errors.add("price", "Required (0 for a free game)")
    regional: dict[str, int] = {}
    for currency in REGIONAL:
        amount = parse_price(p.field(f"price_{currency}"), errors, f"price_{currency}")
        if amount is not None:
            regional[currency] = amount
    body = {"price": {"amount": price or 0, "currency": "USD"}, "regional_prices": regional}
    return await _update(p, body, errors)


@page
@_publishers_only
async def set_status(p: Page) -> Response:
    status = p.field("status")
    errors = FieldErrors()
    if status not in ("published", "unpublished"):
        errors.add(FORM, "Choose publish or unpublish")
    return await _update(p, {"status": status}, errors)


@page
@_publishers_only
async def add_discount(p: Page) -> Response:
    errors = FieldErrors()
    percent = parse_int(p.field("percent"), errors, "percent")
    starts = parse_utc(p.field("starts_at"), errors, "starts_at")
    ends = parse_utc(p.field("ends_at"), errors, "ends_at")
    if percent is None and "percent" not in errors:
        errors.add("percent", "Required")
    game = await _managed(p)
    if not errors and starts is not None and ends is not None:
        body = {"percent": percent, "starts_at": starts.isoformat(), "ends_at": ends.isoformat()}
        try:
            await p.ctx.catalog.add_discount(game.app_id, body, token=p.visit.token or "")
        except LugxError as exc:
            raise_unless_refusal(exc)
            errors = api_errors(exc, {"__root__": "percent"})
            if exc.status == 409:
                errors = FieldErrors({"starts_at": [exc.detail]})
        else:
            return p.redirect(f"/publisher/games/{game.app_id}?saved=1#discounts")
    values = {**_values_of_game(game), **values_of(p.form)}
    return await _form_page(p, game=game, values=values, errors=errors, status=400)
