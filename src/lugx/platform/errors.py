"""Domain errors and their one renderer: RFC 9457 `application/problem+json`.

A service raises `LugxError` (or a subclass) with a status; the handler turns it into a problem
document. Malformed requests become 422 with `errors` per field. Anything unexpected is logged
with its trace and answered with a bare 500: no stack trace, SQL or secret reaches a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://lugx.dev/problems/"

log = structlog.get_logger(__name__)


class LugxError(Exception):
    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        if code is not None:
            self.code = code
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers
        self.extra = extra


class BadRequest(LugxError):
    pass


class ValidationFailed(LugxError):
    """A well-formed request that breaks a rule about its fields (e.g. a weak password)."""

    status, code, title = 422, "validation-failed", "The request has invalid fields"


def check_size(field: str, size: int, *, least: int = 1, most: int) -> None:
    """ValidationFailed unless `least <= size <= most`: the limit an endpoint's query or header
    declares, for the same operation run in-process (lugx.platform.clients)."""
    if not least <= size <= most:
        raise ValidationFailed(
            f"{field}: between {least} and {most}, not {size}",
            errors=[{"field": field, "message": f"between {least} and {most}"}],
        )


class Unauthorized(LugxError):
    status, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="lugx"'})
        super().__init__(detail, **kwargs)


class Forbidden(LugxError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(LugxError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(LugxError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(LugxError):
    status, code, title = 413, "payload-too-large", "Request body too large"


class TooManyRequests(LugxError):
    status, code, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(1, retry_after))})
        super().__init__(detail, retry_after=max(1, retry_after), **kwargs)


class ServiceUnavailable(LugxError):
    status, code, title = 503, "service-unavailable", "Service unavailable"


_STATUS_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request has invalid fields",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def problem(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    code: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (code or str(status)),
        "title": title or _STATUS_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or title or _STATUS_TITLES.get(status, "Error"),
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def problem_bytes(status: int, detail: str, code: str | None = None) -> bytes:
    """The same document as raw bytes, for pure-ASGI layers (the gateway) that bypass FastAPI."""
    return orjson.dumps(
        {
            "type": PROBLEM_BASE + (code or str(status)),
            "title": _STATUS_TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
        }
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        field = ".".join(loc[1:]) or (loc[0] if loc else "")
        out.append(
            {
                "loc": loc,
                "field": field,
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "invalid"),
            }
        )
    return out


async def _lugx_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LugxError)
    return problem(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        instance=request.url.path,
        headers=exc.headers,
        errors=exc.errors,
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    first = errors[0] if errors else None
    detail = f"{first['field']}: {first['message']}" if first else "The request is malformed"
    return problem(
        422, code="validation-failed", detail=detail, instance=request.url.path, errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail=detail, instance=request.url.path, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path, error_type=type(exc).__name__)
    return problem(500, detail="Something went wrong on our side", instance=request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LugxError, _lugx_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
