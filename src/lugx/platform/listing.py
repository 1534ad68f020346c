"""What the services' endpoints share beyond the pagination module: the ServiceContext as a
dependency (`Ctx`), and a keyset page built from one row more than the page holds (that row only
says whether another page follows)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from lugx.platform.errors import BadRequest
from lugx.platform.pagination import Page, decode_cursor, encode_cursor
from lugx.platform.service import ServiceContext

R = TypeVar("R")
T = TypeVar("T")
K = TypeVar("K")


async def service_ctx(request: Request) -> ServiceContext:
    """`async` on purpose: FastAPI runs a plain `def` dependency in its thread pool, a hop there
    and back on every request, for what is only an attribute read."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(service_ctx)]


def cursor_key(
    secret: bytes, cursor: str | None, parse: Callable[[Mapping[str, Any]], K]
) -> K | None:
    """The sort key a signed cursor carries, or None without one (an empty cursor is a bad one:
    pass `cursor or None` to take it as none). `parse` raising KeyError, ValueError or
    TypeError (a key of another list, a value of another type) is a 400."""
    if cursor is None:
        return None
    key = decode_cursor(secret, cursor)
    try:
        return parse(key)
    except (KeyError, ValueError, TypeError) as exc:
        raise BadRequest("The cursor is not valid", code="invalid-cursor") from exc


def keyset_page(
    secret: bytes,
    rows: Sequence[R],
    limit: int,
    read: Callable[[R], T],
    key: Callable[[R], dict[str, Any]],
) -> Page[T]:
    """`rows`: up to `limit + 1` rows in the page's order. The next cursor is the sort `key` of
    the page's last row, and only when a row beyond it was found."""
    shown = rows[:limit]
    more = len(rows) > limit
    return Page(
        items=[read(row) for row in shown],
        next_cursor=encode_cursor(secret, key(shown[-1])) if more else None,
    )
