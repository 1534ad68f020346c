"""Reviews from the game page: an owner writes, edits or deletes their own; anyone signed in
votes helpful or funny (without a reload when the script runs)."""

from __future__ import annotations

import uuid

from starlette.responses import Response

from lugx.platform.errors import LugxError
from lugx.web.forms import FieldErrors, api_errors
from lugx.web.http import Page, page
from lugx.web.pages.common import answer, local_back, to_login, wants_json
from lugx.web.pages.store import game_page

VOTES = {
    "helpful": ("helpful", True),
    "unhelpful": ("helpful", False),
    "funny": ("funny", True),
    "clear-helpful": ("helpful", None),
    "clear-funny": ("funny", None),
}


def _review_id(p: Page) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(p.path_params["review_id"]))
    except ValueError:
        return None


def _review_body(p: Page, errors: FieldErrors) -> dict[str, object]:
    verdict = p.field("recommended")
    if verdict not in ("yes", "no"):
        errors.add("recommended", "Say whether you recommend it")
    text = p.field("body")
    if not text:
        errors.add("body", "Write your review")
    return {"recommended": verdict == "yes", "body": text}


@page
async def post_review(p: Page) -> Response:
    token = p.visit.token
    if token is None:
        return to_login(p)
    app_id = int(p.path_params["app_id"])
    errors = FieldErrors()
    body = _review_body(p, errors)
    if not errors:
        try:
            await p.ctx.reviews.post(app_id, body, token=token)
        except LugxError as exc:
            if exc.status >= 500 or exc.status in (401, 404):
                raise
            errors = api_errors(exc)
    if not errors:
        return p.redirect(f"/app/{app_id}#my-review")
    return await game_page(
        p,
        app_id,
        status=400,
        review_errors=errors,
        review_values={"body": p.field("body"), "recommended": p.field("recommended")},
    )


@page
async def edit_review(p: Page) -> Response:
    token = p.visit.token
    if token is None:
        return to_login(p)
    review_id = _review_id(p)
    app_id = _app_of(p)
    if review_id is None or app_id is None:
        return p.render("error.html", status=404, title="Not found", message="No such review")
    errors = FieldErrors()
    body = _review_body(p, errors)
    if not errors:
        try:
            await p.ctx.reviews.update(review_id, body, token=token)
        except LugxError as exc:
            if exc.status >= 500 or exc.status in (401, 403, 404):
                raise
            errors = api_errors(exc)
    if not errors:
        return p.redirect(f"/app/{app_id}#my-review")
    return await game_page(
        p,
        app_id,
        status=400,
        review_errors=errors,
        review_values={"body": p.field("body"), "recommended": p.field("recommended")},
    )


def _app_of(p: Page) -> int | None:
    raw = p.field("app_id")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 10 else None


@page
async def delete_review(p: Page) -> Response:
    token = p.visit.token
    if token is None:
        return to_login(p)
    review_id = _review_id(p)
    if review_id is None:
        return p.render("error.html", status=404, title="Not found", message="No such review")
    await p.ctx.reviews.delete(review_id, token=token)
    app_id = _app_of(p)
    return p.redirect(f"/app/{app_id}#reviews" if app_id else "/library")


@page
async def vote(p: Page) -> Response:
    token = p.visit.token
    if token is None:
        return to_login(p)
    review_id = _review_id(p)
    chosen = VOTES.get(p.field("vote"))
    back = local_back(p, "/")
    if review_id is None or chosen is None:
        return answer(p, back, "That vote is not understood.", ok=False)
    kind, value = chosen
    try:
        done = await p.ctx.reviews.vote(review_id, kind, value, token=token)
    except LugxError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        return answer(p, back, exc.detail, ok=False)
    counts = done.votes.model_dump()
    if wants_json(p):
        return answer(p, back, "Thanks for your vote.", votes=counts)
    return p.redirect(back + f"#review-{review_id}")
