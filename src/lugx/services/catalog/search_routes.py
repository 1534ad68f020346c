"""Browse, search and search-as-you-type: `GET /api/v1/catalog/games` and `/suggest`.

FastAPI ignores query parameters it does not know; a store's search must not (a misspelt filter
would silently show everything), so each endpoint first refuses unknown and repeated ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from lugx.platform.db import DbSession, utcnow
from lugx.platform.errors import BadRequest
from lugx.platform.http_cache import etag_of, public_max_age, respond
from lugx.services.catalog.schemas import (
    MAX_PRICE,
    Feature,
    GameType,
    Platform,
    SearchPage,
    Slug,
    Sort,
    SuggestPage,
)
from lugx.services.catalog.search import (
    MAX_FILTER_VALUES,
    MAX_QUERY_LENGTH,
    MAX_SUGGESTIONS,
    SearchQuery,
    search_games,
    suggest_with_lifetime,
)

PREFIX = "/api/v1/catalog"
JSON = "application/json"

router = APIRouter(prefix=PREFIX, tags=["catalog"])

REPEATABLE = frozenset({"genre", "tag", "platform", "feature", "type"})
SEARCH_PARAMETERS = REPEATABLE | {
    "q",
    "price_min",
    "price_max",
    "on_sale",
    "free",
    "released_after",
    "released_before",
    "sort",
    "limit",
    "cursor",
    "facets",
    "currency",
}
SUGGEST_PARAMETERS = frozenset({"q", "limit"})


def only(allowed: frozenset[str]) -> Callable[[Request], None]:
    """A dependency that refuses query parameters the endpoint does not take, and a parameter
    of one value given several times."""

    def check(request: Request) -> None:
        params = request.query_params
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise BadRequest(
                f"Unknown query parameter {unknown[0][:40]!r}; "
                f"this endpoint takes: {', '.join(sorted(allowed))}",
                code="unknown-parameter",
                errors=[
                    {
                        "loc": ["query", name[:40]],
                        "field": name[:40],
                        "message": "unknown parameter",
                    }
                    for name in unknown[:10]
                ],
            )
        repeated = sorted(n for n in allowed - REPEATABLE if len(params.getlist(n)) > 1)
        if repeated:
            raise BadRequest(
                f"Query parameter {repeated[0]!r} is given more than once",
                code="repeated-parameter",
                errors=[
                    {"loc": ["query", name], "field": name, "message": "given more than once"}
                    for name in repeated
                ],
            )

    return check


Price = Annotated[int | None, Query(ge=0, le=MAX_PRICE, description="Final USD price, in cents")]
Filter = Query(max_length=MAX_FILTER_VALUES)


@router.get(
    "/games",
    response_model=SearchPage,
    dependencies=[Depends(only(SEARCH_PARAMETERS))],
    summary="Browse and search published games",
)
async def search(
    request: Request,
    session: DbSession,
    q: Annotated[
        str, Query(max_length=MAX_QUERY_LENGTH, description="Words; each may be the start of one")
    ] = "",
    genre: Annotated[list[Slug] | None, Filter] = None,
    tag: Annotated[list[Slug] | None, Filter] = None,
    platform: Annotated[list[Platform] | None, Filter] = None,
    feature: Annotated[list[Feature] | None, Filter] = None,
    type_: Annotated[list[GameType] | None, Query(alias="type", max_length=4)] = None,
    price_min: Price = None,
    price_max: Price = None,
    on_sale: bool | None = None,
    free: bool | None = None,
    released_after: date | None = None,
    released_before: date | None = None,
    sort: Annotated[
        Sort | None, Query(description="Relevance (with q) or top sellers by default")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    facets: bool = False,
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "USD",
) -> Response:
    """Genres, tags and features given several times must all apply; platforms and types are
    "any of". Prices filter on the final USD price now; release dates are inclusive."""
    query = SearchQuery(
        q=q,
        genres=tuple(genre or ()),
        tags=tuple(tag or ()),
        platforms=tuple(platform or ()),
        features=tuple(feature or ()),
        types=tuple(type_ or ()),
        price_min=price_min,
        price_max=price_max,
        on_sale=on_sale,
        free=free,
        released_after=released_after,
        released_before=released_before,
        sort=sort,
        limit=limit,
        cursor=cursor,
        facets=facets,
        now=utcnow(),
        currency=currency,
    )
    page = await search_games(session, query, secret=request.app.state.ctx.secret_key)
    # Serialised by pydantic-core directly; `facets` and `total` only when asked for.
    body = page.model_dump_json(exclude=None if facets else {"facets", "total"})
    return Response(body, media_type=JSON)


@router.get(
    "/suggest",
    response_model=SuggestPage,
    dependencies=[Depends(only(SUGGEST_PARAMETERS))],
    summary="Search-as-you-type: titles starting with the typed words",
)
async def suggestions(
    request: Request,
    session: DbSession,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS)] = 8,
) -> Response:
    """Public and short-lived (30 s at most, less when a price shown is about to change): the
    gateway's edge cache may answer a repeated prefix, as search-as-you-type repeats them."""
    page, seconds = await suggest_with_lifetime(session, q, limit, utcnow())
    body = page.model_dump_json().encode()
    return respond(request, body, etag_of(body), public_max_age(seconds))
