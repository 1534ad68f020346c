"""What the player's pages share: signing in first, the little JSON answers of the buttons that
work without a reload, the card form, and per-render Idempotency-Keys."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from lugx.platform.errors import LugxError
from lugx.web.forms import FORM, FieldErrors, api_errors
from lugx.web.http import SECURITY_HEADERS, Handler, Page, login_url

_KEY = re.compile(r"^[A-Za-z0-9-]{16,64}$")

# The sandbox processor's test cards (payments' sandbox.py), listed on the payment forms outside
# production so a tester knows what each does.
TEST_CARDS = (
    ("4242424242424242", "succeeds"),
    ("4000002500003155", "asks for a confirmation step (3-D Secure) first"),
    ("4000000000000002", "is declined"),
    ("4000000000009995", "is declined for insufficient funds"),
    ("4000000000000069", "is declined as expired"),
)
CARD_FIELDS = {
    "card.number": "card_number",
    "card.exp_month": "exp_month",
    "card.exp_year": "exp_year",
    "card.cvc": "cvc",
    "card": "card_number",
}
FAILURES = {
    "card_declined": "The card was declined. Try another card.",
    "insufficient_funds": "There is not enough money for this payment.",
    "expired_card": "The card has expired.",
    "invalid_card": "The card's details are not right.",
    "payment_not_confirmed": "The payment was not confirmed in time.",
    "no_charge": "The payment could not be made. Nothing was charged.",
    "canceled": "You canceled this order.",
}


def new_key() -> str:
    """An Idempotency-Key made when a payment form is shown: submitting the form twice sends
    the same key, so the money moves once."""
    return str(uuid.uuid4())


def form_key(p: Page, errors: FieldErrors) -> str:
    key = p.field("idempotency_key")
    if not _KEY.match(key):
        errors.add(FORM, "This form is out of date. Check it and send it again.")
    return key


def signed_in(handler: Callable[[Page, str], Awaitable[Response]]) -> Handler:
    """A player's page: not signed in, to the sign-in (see to_login); else the handler gets the
    player's token."""

    @functools.wraps(handler)
    async def guarded(p: Page) -> Response:
        token = p.visit.token
        if token is None:
            return to_login(p)
        return await handler(p, token)

    return guarded


def raise_unless_refusal(exc: LugxError, *also: int) -> None:
    """Called in `except LugxError`: what is no refusal the form can show (a service down, the
    sign-in gone, or any of `also`) goes on to the error page."""
    if exc.status >= 500 or exc.status == 401 or exc.status in also:
        raise exc


def notes(p: Page) -> dict[str, str]:
    """The note (or problem) a button's redirect left in the query (see answer)."""
    return {"note": p.query("note")[:200], "problem": p.query("problem")[:200]}


def cursor_of(p: Page) -> str | None:
    return p.query("cursor")[:512] or None


def cards_to_show(p: Page) -> tuple[tuple[str, str], ...]:
    return () if p.ctx.settings.is_production else TEST_CARDS


def not_found(p: Page, message: str) -> Response:
    return p.render("error.html", status=404, title="Not found", message=message)


def path_uuid(p: Page, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(p.path_params[name]))
    except ValueError:
        return None


def to_login(p: Page) -> Response:
    """Not signed in: the button's JSON says where to sign in; a page goes there."""
    # After a POST, back to the page the button was on (a POST-only path is no page).
    target = p.request.url.path if p.request.method == "GET" else local_back(p, "/")
    if wants_json(p):
        return p.finish(JSONResponse({"ok": False, "login": login_url(target)}, status_code=401))
    return p.redirect(login_url(target))


def wants_json(p: Page) -> bool:
    return "application/json" in p.request.headers.get("accept", "")


def answer(p: Page, back: str, message: str, *, ok: bool = True, **extra: Any) -> Response:
    """A button's outcome: JSON for the script (no reload), else back to the page it was on."""
    if wants_json(p):
        body = {"ok": ok, "message": message, **extra}
        response = JSONResponse(body, status_code=200 if ok else 409, headers=SECURITY_HEADERS)
        return p.finish(response)
    sep = "&" if "?" in back else "?"
    from urllib.parse import quote

    return p.redirect(f"{back}{sep}{'note' if ok else 'problem'}={quote(message)}")


def local_back(p: Page, default: str) -> str:
    back = p.field("back")
    if back.startswith("/") and not back.startswith(("//", "/\\")) and "\n" not in back:
        return back[:300]
    return default


def parse_card(p: Page, errors: FieldErrors) -> dict[str, Any] | None:
    """The card's fields as payments takes them; what the page can check itself is checked
    here (so nothing is sent), the rest (Luhn, expiry) by the processor."""
    number = p.field("card_number").replace(" ", "").replace("-", "")
    if not number.isdigit() or not 12 <= len(number) <= 19:
        errors.add("card_number", "Write the card number (12 to 19 digits)")
    month, year, cvc = p.field("exp_month"), p.field("exp_year"), p.field("cvc")
    if not month.isdigit() or not 1 <= int(month) <= 12:
        errors.add("exp_month", "Write the month as 1 to 12")
    if not year.isdigit() or len(year) not in (2, 4):
        errors.add("exp_year", "Write the year like 2030")
    if not cvc.isdigit() or len(cvc) not in (3, 4):
        errors.add("cvc", "Write the 3 or 4 digits on the back")
    if errors:
        return None
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    return {"number": number, "exp_month": int(month), "exp_year": full_year, "cvc": cvc}


def card_errors(exc: LugxError) -> FieldErrors:
    return api_errors(exc, CARD_FIELDS)


def card_values(p: Page) -> dict[str, str]:
    """What to show again in a refused card form: never the number or the CVC."""
    return {"exp_month": p.field("exp_month"), "exp_year": p.field("exp_year")}
