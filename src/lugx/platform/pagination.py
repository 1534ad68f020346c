"""Cursor (keyset) pagination: `?limit=&cursor=` -> `{"items": [...], "next_cursor": ...}`.

A cursor is the last row's sort key, JSON-encoded and signed with the platform secret: a client
can pass it back but cannot forge or edit one (a tampered cursor is a clear 400).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from lugx.platform.errors import BadRequest

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1-100)")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _sign(secret: bytes, body: bytes) -> str:
    digest = hmac.new(secret, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def encode_cursor(secret: bytes, key: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=")
    return f"{body.decode()}.{_sign(secret, body)}"


def decode_cursor(secret: bytes, cursor: str) -> dict[str, Any]:
    body, _, signature = cursor.partition(".")
    if (
        not body
        or not signature
        or not cursor.isascii()
        or not hmac.compare_digest(signature.encode(), _sign(secret, body.encode()).encode())
    ):
        raise BadRequest("The cursor is not valid; start again without it", code="invalid-cursor")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not valid", code="invalid-cursor") from exc
    if not isinstance(data, dict):
        raise BadRequest("The cursor is not valid", code="invalid-cursor")
    return data
