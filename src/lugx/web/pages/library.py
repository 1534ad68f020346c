"""The player's games, wishlist (with price alerts) and wallet (with top-ups)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from lugx.platform.errors import LugxError, NotFound
from lugx.services.purchases.schemas import EntitlementRead
from lugx.web.forms import FORM, FieldErrors, api_errors, cents_text, parse_int, parse_price
from lugx.web.http import Page, page
from lugx.web.pages.common import (
    answer,
    card_errors,
    card_values,
    cards_to_show,
    cursor_of,
    form_key,
    local_back,
    new_key,
    not_found,
    notes,
    parse_card,
    raise_unless_refusal,
    signed_in,
)

# purchases' rule for an automatic refund (docs/purchases.md): the page only words the button;
# purchases decides.
REFUND_DAYS = 14
REFUND_PLAYTIME_MINUTES = 120
WISH_PROBLEMS = {"already-wishlisted": "It is already on your wishlist."}


def refund_offer(item: EntitlementRead, now: datetime) -> str | None:
    """The refund button's label for a library entry, or None when it was not bought."""
    if item.source != "purchase" or item.order_id is None:
        return None
    recent = now - item.acquired_at <= timedelta(days=REFUND_DAYS)
    if recent and item.playtime_minutes < REFUND_PLAYTIME_MINUTES:
        return "Refund"
    return "Request a refund"


@page
@signed_in
async def library(p: Page, token: str) -> Response:
    cursor = cursor_of(p)
    found = await p.ctx.purchases.library(token=token, cursor=cursor, limit=24)
    now = datetime.now(UTC)
    return p.render(
        "shop/library.html",
        library=found,
        offers={item.app_id: refund_offer(item, now) for item in found.items},
        first=cursor is not None,
        key=new_key(),
        note=notes(p),
    )


# --- wishlist -------------------------------------------------------------------------------


async def _wishlist_page(
    p: Page,
    token: str,
    *,
    status: int = 200,
    errors: FieldErrors | None = None,
    values: dict[Any, str] | None = None,
) -> Response:
    cursor = cursor_of(p)
    found = await p.ctx.shopping.wishlist(token=token, cursor=cursor, limit=50)
    targets = {i.app_id: cents_text(i.alert_target.amount) for i in found.items if i.alert_target}
    return p.render(
        "shop/wishlist.html",
        status=status,
        wishlist=found,
        errors=errors or FieldErrors(),
        values={**targets, **(values or {})},
        first=cursor is not None,
        note=notes(p),
    )


@page
@signed_in
async def wishlist(p: Page, token: str) -> Response:
    return await _wishlist_page(p, token)


def _app_id(p: Page) -> int | None:
    errors = FieldErrors()
    raw = str(p.path_params.get("app_id") or p.field("app_id"))
    app_id = parse_int(raw, errors, "app_id")
    return app_id if app_id is not None and 1 <= app_id <= 2_000_000_000 else None


@page
@signed_in
async def wish(p: Page, token: str) -> Response:
    app_id = _app_id(p)
    back = local_back(p, "/wishlist")
    if app_id is None:
        return answer(p, back, "That game is not in the store.", ok=False)
    try:
        await p.ctx.shopping.wish(app_id, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc)
        return answer(p, back, WISH_PROBLEMS.get(exc.code or "", exc.detail), ok=False)
    return answer(p, back, "Added to your wishlist.")


@page
@signed_in
async def unwish(p: Page, token: str) -> Response:
    app_id = _app_id(p)
    if app_id is not None:
        with contextlib.suppress(NotFound):  # gone already (another tab)
            await p.ctx.shopping.unwish(app_id, token=token)
    return p.redirect("/wishlist")


@page
@signed_in
async def set_alert(p: Page, token: str) -> Response:
    """A price alert's target, like 9.99; empty removes the alert."""
    app_id = _app_id(p)
    if app_id is None:
        return not_found(p, "No such game")
    field = f"target_{app_id}"
    errors = FieldErrors()
    text = p.field("target")
    cents = parse_price(text, errors, field)
    if not errors:
        try:
            if cents is None:
                await p.ctx.shopping.clear_alert(app_id, token=token)
            else:
                await p.ctx.shopping.set_alert(app_id, cents, token=token)
        except LugxError as exc:
            raise_unless_refusal(exc)
            errors = FieldErrors({field: [_alert_problem(exc)]})
    if errors:
        return await _wishlist_page(p, token, status=400, errors=errors, values={app_id: text})
    return p.redirect("/wishlist?note=" + ("Alert+removed." if cents is None else "Alert+set."))


def _alert_problem(exc: LugxError) -> str:
    if exc.code == "target-not-below-price":
        return "Choose a price below the price now"
    return api_errors(exc).get("target_price", [exc.detail])[0]


# --- wallet ---------------------------------------------------------------------------------


async def _wallet_page(
    p: Page,
    token: str,
    *,
    status: int = 200,
    errors: FieldErrors | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    wallet = await p.ctx.payments.wallet(token=token)
    entries = await p.ctx.payments.entries(token=token, limit=10)
    return p.render(
        "account/wallet.html",
        status=status,
        wallet=wallet,
        entries=entries.items,
        errors=errors or FieldErrors(),
        values=values or {},
        key=new_key(),
        test_cards=cards_to_show(p),
        note=p.query("note")[:200],
    )


@page
@signed_in
async def wallet(p: Page, token: str) -> Response:
    return await _wallet_page(p, token)


@page
@signed_in
async def top_up(p: Page, token: str) -> Response:
    """The key came with the form: sending it twice (a double click, a reload) tops up once."""
    errors = FieldErrors()
    key = form_key(p, errors)
    cents = parse_price(p.field("amount"), errors, "amount")
    if cents is None and not errors.get("amount"):
        errors.add("amount", "Write an amount like 20.00")
    card = parse_card(p, errors)
    values = {"amount": p.field("amount"), **card_values(p)}
    if errors or cents is None or card is None:
        return await _wallet_page(p, token, status=400, errors=errors, values=values)
    body = {"amount": {"amount": cents, "currency": "USD"}, "card": card}
    try:
        done = await p.ctx.payments.top_up(body, key=key, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc)
        errors = _top_up_errors(exc)
        return await _wallet_page(p, token, status=400, errors=errors, values=values)
    if done.status == "requires_confirmation":
        return p.redirect(f"/payments/{done.id}/confirm")
    return p.redirect("/account/wallet?note=Your+wallet+was+topped+up.")


def _top_up_errors(exc: LugxError) -> FieldErrors:
    if exc.status == 402:
        return FieldErrors({"card_number": [exc.detail or "The card was declined"]})
    if exc.code == "idempotency-key-reused":
        return FieldErrors({FORM: ["This form was already sent with other values. Try again."]})
    errors = card_errors(exc)
    if "amount" in errors:
        errors["amount"] = [m.replace(" cents", "") for m in errors["amount"]]
    return errors
