"""The cart and the checkout: lines and totals, coupons, paying with the wallet or a card, the
card's confirmation step, and the order confirmation. Prices are the shopping service's (from
the catalog); the page never sends one."""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.responses import Response

from lugx.platform.errors import LugxError, NotFound
from lugx.services.purchases.schemas import OrderRead
from lugx.services.shopping.schemas import CartRead
from lugx.web.forms import FORM, FieldErrors, api_errors, parse_int
from lugx.web.http import Page, page
from lugx.web.pages.common import (
    FAILURES,
    answer,
    card_values,
    cards_to_show,
    cursor_of,
    form_key,
    local_back,
    new_key,
    not_found,
    notes,
    parse_card,
    path_uuid,
    raise_unless_refusal,
    signed_in,
)

CART_PROBLEMS = {
    "already-in-cart": "It is already in your cart.",
    "already-owned": "You already own it.",
    "cart-full": "Your cart is full.",
}


def _app_id(p: Page, errors: FieldErrors) -> int | None:
    app_id = parse_int(p.field("app_id"), errors, "app_id")
    if app_id is None or not 1 <= app_id <= 2_000_000_000:
        errors.add("app_id", "No such game")
        return None
    return app_id


@page
@signed_in
async def add_to_cart(p: Page, token: str) -> Response:
    """The game page's button: JSON for the script, a redirect for a plain form."""
    errors = FieldErrors()
    app_id = _app_id(p, errors)
    back = local_back(p, "/cart")
    if app_id is None:
        return answer(p, back, "That game is not in the store.", ok=False)
    try:
        cart = await p.ctx.shopping.add_to_cart(app_id, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc)
        message = CART_PROBLEMS.get(exc.code or "", exc.detail)
        return answer(p, back, message, ok=False)
    return answer(p, back, "Added to your cart.", count=len(cart.items))


@page
@signed_in
async def remove_from_cart(p: Page, token: str) -> Response:
    errors = FieldErrors()
    app_id = _app_id(p, errors)
    if app_id is not None:
        with contextlib.suppress(NotFound):  # gone already (another tab): the cart shows it
            await p.ctx.shopping.remove_from_cart(app_id, token=token)
    return p.redirect("/cart")


@page
@signed_in
async def cart(p: Page, token: str) -> Response:
    current = await p.ctx.shopping.cart(token=token)
    return p.render("shop/cart.html", cart=current, errors=FieldErrors(), values={}, note=notes(p))


@page
@signed_in
async def apply_coupon(p: Page, token: str) -> Response:
    code, errors = p.field("code"), FieldErrors()
    if not code:
        errors.add("code", "Write the coupon's code")
    else:
        try:
            await p.ctx.shopping.apply_coupon(code, token=token)
        except LugxError as exc:
            raise_unless_refusal(exc)
            message = "No coupon has that code" if exc.status == 404 else exc.detail
            if exc.status == 422:
                message = "A code is 3 to 32 letters, digits, - or _"
            errors.add("code", message)
    if not errors:
        return p.redirect("/cart")
    current = await p.ctx.shopping.cart(token=token)
    return p.render(
        "shop/cart.html",
        status=400,
        cart=current,
        errors=errors,
        values={"code": code},
        note=notes(p),
    )


@page
@signed_in
async def remove_coupon(p: Page, token: str) -> Response:
    await p.ctx.shopping.remove_coupon(token=token)
    return p.redirect("/cart")


# --- checkout -------------------------------------------------------------------------------


async def _checkout_page(
    p: Page,
    token: str,
    *,
    status: int = 200,
    errors: FieldErrors | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    current: CartRead = await p.ctx.shopping.cart(token=token)
    wallet = await p.ctx.payments.wallet(token=token)
    return p.render(
        "shop/checkout.html",
        status=status,
        cart=current,
        wallet=wallet,
        errors=errors or FieldErrors(),
        values=values or {"method": "card"},
        key=new_key(),
        test_cards=cards_to_show(p),
    )


@page
@signed_in
async def checkout_form(p: Page, token: str) -> Response:
    return await _checkout_page(p, token)


@page
@signed_in
async def checkout(p: Page, token: str) -> Response:
    errors = FieldErrors()
    key = form_key(p, errors)
    method = p.field("method")
    body: dict[str, Any] = {"payment_method": method}
    if method == "card":
        body["card"] = parse_card(p, errors)
    elif method != "wallet":
        errors.add("method", "Choose how to pay")
    values = {"method": method, **card_values(p)}
    if errors:
        return await _checkout_page(p, token, status=400, errors=errors, values=values)
    try:
        order = await p.ctx.purchases.checkout(body, key=key, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc)
        errors = api_errors(exc, {"card.number": "card_number"})
        return await _checkout_page(p, token, status=400, errors=errors, values=values)
    return _after_checkout(p, order, values) or await _failed(p, token, order, values)


def _after_checkout(p: Page, order: OrderRead, values: dict[str, Any]) -> Response | None:
    if order.status == "awaiting_payment" and order.charge_id is not None:
        return p.redirect(f"/payments/{order.charge_id}/confirm")
    if order.status != "failed":
        return p.redirect(f"/orders/{order.id}?placed=1")
    return None


async def _failed(p: Page, token: str, order: OrderRead, values: dict[str, Any]) -> Response:
    """A declined payment: the cart is as it was; the reason goes next to the card (or the
    wallet), and a new form (a new key) lets the player try again."""
    reason = order.failure_reason or ""
    message = FAILURES.get(reason, "The payment did not go through.")
    errors = FieldErrors()
    errors.add("card_number" if values.get("method") == "card" else "method", message)
    return await _checkout_page(p, token, status=402, errors=errors, values=values)


# --- the confirmation step (sandbox 3-D Secure) -----------------------------------------------


@page
@signed_in
async def confirm_form(p: Page, token: str) -> Response:
    payment_id = path_uuid(p, "payment_id")
    if payment_id is None:
        return not_found(p, "No such payment")
    return p.render("shop/confirm.html", payment_id=payment_id, errors=FieldErrors())


@page
@signed_in
async def confirm(p: Page, token: str) -> Response:
    """Confirms with payments; a charge's order is then completed by payments' event."""
    payment_id = path_uuid(p, "payment_id")
    if payment_id is None:
        return not_found(p, "No such payment")
    try:
        done = await p.ctx.payments.confirm(payment_id, token=token)
    except LugxError as exc:
        if exc.status != 409:
            raise
        errors = FieldErrors()
        errors.add(FORM, exc.detail)
        return p.render("shop/confirm.html", status=409, payment_id=payment_id, errors=errors)
    if done.kind == "charge" and done.order_id is not None:
        return p.redirect(f"/orders/{done.order_id}?placed=1")
    return p.redirect("/account/wallet?note=Your+wallet+was+topped+up.")


# --- orders ---------------------------------------------------------------------------------


@page
@signed_in
async def orders(p: Page, token: str) -> Response:
    cursor = cursor_of(p)
    found = await p.ctx.purchases.orders(token=token, cursor=cursor, limit=20)
    return p.render("shop/orders.html", orders=found, first=cursor is not None)


@page
@signed_in
async def order(p: Page, token: str) -> Response:
    order_id = path_uuid(p, "order_id")
    if order_id is None:
        return not_found(p, "No such order")
    found = await p.ctx.purchases.order(order_id, token=token)
    return p.render(
        "shop/order.html",
        order=found,
        placed=p.query("placed") == "1",
        failure=FAILURES.get(found.failure_reason or "", found.failure_reason or ""),
        note=notes(p),
        key=new_key(),
    )


@page
@signed_in
async def receipt(p: Page, token: str) -> Response:
    order_id = path_uuid(p, "order_id")
    if order_id is None:
        return not_found(p, "No such order")
    found = await p.ctx.purchases.receipt(order_id, token=token)
    return p.render("shop/receipt.html", receipt=found)


@page
@signed_in
async def refund(p: Page, token: str) -> Response:
    """Automatic (carried out at once) or a request an admin decides; either way the order's
    page says which."""
    order_id = path_uuid(p, "order_id")
    if order_id is None:
        return not_found(p, "No such order")
    errors = FieldErrors()
    key = form_key(p, errors)
    reason = p.field("reason")[:1000] or "Requested from the store"
    back = local_back(p, f"/orders/{order_id}")
    if errors:
        return answer(p, back, errors[FORM][0], ok=False)
    try:
        done = await p.ctx.purchases.refund(order_id, reason, key=key, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc, 404)
        messages = {
            "refund-exists": "A refund of this order was already asked for.",
            "already-refunded": "This order is already refunded.",
        }
        return answer(p, back, messages.get(exc.code or "", exc.detail), ok=False)
    if done.status == "approved":
        return answer(p, back, "Refunded. The money goes back where it came from.")
    return answer(p, back, "Your refund request is waiting for review.")


@page
@signed_in
async def cancel(p: Page, token: str) -> Response:
    """Give up an order still waiting for its card's confirmation; its page says how it ended
    (canceled, or paid if the card was confirmed meanwhile)."""
    order_id = path_uuid(p, "order_id")
    if order_id is None:
        return not_found(p, "No such order")
    back = f"/orders/{order_id}"
    try:
        await p.ctx.purchases.cancel(order_id, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc, 404)
        return answer(p, back, exc.detail, ok=False)
    return answer(p, back, "Order canceled. Nothing was charged; your cart is as it was.")
