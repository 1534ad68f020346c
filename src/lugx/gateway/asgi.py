"""Small pure-ASGI helpers the gateway's layers share: reading headers from a scope, and answering
with a problem document or a JSON body without going through a framework."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.types import Send

from lugx.platform.auth.dependencies import PRINCIPAL_SCOPE_KEY
from lugx.platform.errors import PROBLEM_JSON, problem_bytes

Header = tuple[bytes, bytes]

# Keys the gateway's layers use to talk to each other through the scope.
RESPONSE_HEADERS = "lugx.response_headers"  # list[Header] added to the response by the outer layer
ROUTE = "lugx.route"  # the metrics label of what served the request
PRINCIPAL = PRINCIPAL_SCOPE_KEY  # the verified caller, when a valid token came with the request
CLIENT = "lugx.client"  # the client's address, after trusted proxies are accounted for


async def send_body(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Iterable[Header] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: Iterable[Header] = (),
) -> None:
    await send_body(
        send, status, problem_bytes(status, detail, code), PROBLEM_JSON.encode(), headers
    )


async def send_json(send: Send, status: int, document: Any) -> None:
    await send_body(send, status, orjson.dumps(document), b"application/json")
