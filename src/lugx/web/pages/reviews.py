"""Reviews from the game page: an owner writes, edits or deletes their own; anyone signed in
votes helpful or funny (without a reload when the script runs)."""

from __future__ import annotations

from starlette.responses import Response

from lugx.platform.errors import LugxError
from lugx.web.forms import FieldErrors, api_errors
from lugx.web.http import Page, page
from lugx.web.pages.common import (
    answer,
    local_back,
    not_found,
    path_uuid,
    raise_unless_refusal,
    signed_in,
    wants_json,
)
from lugx.web.pages.store import game_page

VOTES = {
    "helpful": ("helpful", True),
    "unhelpful": ("helpful", False),
    "funny": ("funny", True),
    "clear-helpful": ("helpful", None),
    "clear-funny": ("funny", None),
}


def _review_body(p: Page, errors: FieldErrors) -> dict[str, object]:
    verdict = p.field("recommended")
    if verdict not in ("yes", "no"):
        errors.add("recommended", "Say whether you recommend it")
    text = p.field("body")
    if not text:
        errors.add("body", "Write your review")
    return {"recommended": verdict == "yes", "body": text}


@page
@signed_in
async def post_review(p: Page, token: str) -> Response:
    app_id = int(p.path_params["app_id"])
    errors = FieldErrors()
    body = _review_body(p, errors)
    if not errors:
        try:
            await p.ctx.reviews.post(app_id, body, token=token)
        except LugxError as exc:
            raise_unless_refusal(exc, 404)
            errors = api_errors(exc)
    return await _after_review(p, app_id, errors)


@page
@signed_in
async def edit_review(p: Page, token: str) -> Response:
    review_id = path_uuid(p, "review_id")
    app_id = _app_of(p)
    if review_id is None or app_id is None:
        return not_found(p, "No such review")
    errors = FieldErrors()
    body = _review_body(p, errors)
    if not errors:
        try:
            await p.ctx.reviews.update(review_id, body, token=token)
        except LugxError as exc:
            raise_unless_refusal(exc, 403, 404)
            errors = api_errors(exc)
    return await _after_review(p, app_id, errors)


async def _after_review(p: Page, app_id: int, errors: FieldErrors) -> Response:
    """Saved: back to the player's review; refused: the game page with the form as typed."""
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
@signed_in
async def delete_review(p: Page, token: str) -> Response:
    review_id = path_uuid(p, "review_id")
    if review_id is None:
        return not_found(p, "No such review")
    await p.ctx.reviews.delete(review_id, token=token)
    app_id = _app_of(p)
    return p.redirect(f"/app/{app_id}#reviews" if app_id else "/library")


@page
@signed_in
async def vote(p: Page, token: str) -> Response:
    review_id = path_uuid(p, "review_id")
    chosen = VOTES.get(p.field("vote"))
    back = local_back(p, "/")
    if review_id is None or chosen is None:
        return answer(p, back, "That vote is not understood.", ok=False)
    kind, value = chosen
    try:
        done = await p.ctx.reviews.vote(review_id, kind, value, token=token)
    except LugxError as exc:
        raise_unless_refusal(exc)
        return answer(p, back, exc.detail, ok=False)
    counts = done.votes.model_dump()
    if wants_json(p):
        return answer(p, back, "Thanks for your vote.", votes=counts)
    return p.redirect(back + f"#review-{review_id}")
