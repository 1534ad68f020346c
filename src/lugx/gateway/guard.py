"""Edge protection in front of every service: body size, the token check and rate limits.

`BodyLimit` refuses a declared Content-Length over the limit at once, without reading the body.
A chunked body (no length up front) is read ahead, up to the limit, before the service sees it:
an over-long one is refused with 413 while nothing has been answered yet, which a check inside
the service's stream could not promise (its own error handlers would turn it into a 500).

`AccessGuard` verifies a bearer token when one is sent (a bad one never reaches a service), then
counts the request against the caller: the verified user when there is one, else the client's
address. Failed token checks count against the address, so guessing tokens is rate limited too.
"""

from __future__ import annotations

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lugx.gateway.asgi import CLIENT, PRINCIPAL, RESPONSE_HEADERS, Header, send_problem
from lugx.platform.auth import Principal, TokenVerifier
from lugx.platform.auth.dependencies import parse_bearer
from lugx.platform.auth.service_calls import SERVICE_HEADER
from lugx.platform.errors import Unauthorized
from lugx.platform.net import ClientAddress, header
from lugx.platform.ratelimit import RateLimiter, Verdict

log = structlog.get_logger(__name__)

_SERVICE_HEADER = SERVICE_HEADER.encode()
_WWW_AUTHENTICATE = (b"www-authenticate", b'Bearer realm="lugx"')

# Endpoints that are how a client gets a (new) token. Many client libraries send the stale
# Authorization header with every call; here a bad one is dropped instead of refused, or a
# client whose access token expired could never refresh it.
TOKEN_ENDPOINTS = frozenset(
    {
        "/api/v1/users/login",
        "/api/v1/users/register",
        "/api/v1/users/token/refresh",
        "/api/v1/users/email/verify",
    }
)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                await send_problem(send, 400, "Content-Length must be a whole number of bytes")
            elif int(length) > self.max_bytes:
                await self._refuse(send)
            else:
                await self.app(scope, receive, send)
            return
        if header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nobody is waiting for an answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send) -> None:
        await send_problem(
            send,
            413,
            f"The request body is larger than {self.max_bytes} bytes",
            code="payload-too-large",
            headers=[(b"connection", b"close")],
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replayed


class AccessGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenVerifier,
        limiter: RateLimiter,
        limit: int,
        window_seconds: float,
        client_address: ClientAddress,
    ) -> None:
        self.app = app
        self._tokens = tokens
        self._limiter = limiter
        self._limit = limit
        self._limit_header = (b"ratelimit-limit", str(limit).encode())
        self._window = window_seconds
        self._client_address = client_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if header(scope, _SERVICE_HEADER) is not None:
            # Only services call each other with one; from the public it is dropped unread.
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != _SERVICE_HEADER]
        client = self._client_address(scope)
        scope[CLIENT] = client
        principal: Principal | None = None
        refusal: Unauthorized | None = None
        authorization = header(scope, b"authorization")
        if authorization is not None:
            try:
                principal = await self._verify(authorization)
            except Unauthorized as exc:
                refusal = exc
            except Exception:
                log.exception("token check failed")
                await send_problem(send, 503, "Sign-in checks are unavailable right now")
                return
        key = f"user:{principal.user_id.hex}" if principal is not None else f"ip:{client}"
        verdict = await self._hit(key)
        if verdict is not None and not verdict.allowed:
            await send_problem(
                send,
                429,
                "Too many requests; slow down and retry later",
                code="too-many-requests",
                headers=[
                    *self._headers(verdict),
                    (b"retry-after", str(verdict.retry_after).encode()),
                ],
            )
            return
        if refusal is not None and scope["path"] in TOKEN_ENDPOINTS:
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            refusal = None
        if refusal is not None:
            await send_problem(
                send, 401, refusal.detail, code=refusal.code, headers=[_WWW_AUTHENTICATE]
            )
            return
        if verdict is not None:
            queued: list[Header] | None = scope.get(RESPONSE_HEADERS)
            if queued is not None:
                queued.extend(self._headers(verdict))
        if principal is not None:
            scope[PRINCIPAL] = principal
        await self.app(scope, receive, send)

    async def _verify(self, authorization: bytes) -> Principal:
        return await self._tokens.verify(parse_bearer(authorization.decode("latin-1")))

    async def _hit(self, key: str) -> Verdict | None:
        try:
            return await self._limiter.hit(key, limit=self._limit, window_seconds=self._window)
        except Exception:
            # The counter store (Redis) is down: serve rather than refuse everyone.
            log.warning("rate limiter unavailable; letting the request through", exc_info=True)
            return None

    def _headers(self, verdict: Verdict) -> list[Header]:
        return [
            self._limit_header,
            (b"ratelimit-remaining", str(max(0, self._limit - verdict.count)).encode()),
            (b"ratelimit-reset", str(verdict.retry_after).encode()),
        ]
