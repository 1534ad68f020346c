"""Who is calling, when one service calls another.

Some endpoints exist only for other services (purchases asks payments to charge, reviews asks
purchases whether a player owns a game, the saga runs with no player's token at hand). Every
call a typed client makes carries `X-Lugx-Service: <caller>.<unix time>.<mac>`, the MAC an
HMAC-SHA256 under a key derived from the shared LUGX_SECRET_KEY, valid for a minute either way
(clock skew). An endpoint names the services it takes with `require_service(...)`. The gateway
drops the header from public requests, so a player can never present one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

from fastapi import Request

from lugx.platform.errors import Forbidden, Unauthorized

SERVICE_HEADER = "x-lugx-service"
MAX_SKEW_SECONDS = 60
# Tokens are reissued after this long, so one is not made for every call.
REISSUE_SECONDS = 20


class ServiceTokens:
    """Issues and checks the tokens of calls between services."""

    def __init__(self, secret_key: bytes) -> None:
        self._key = hmac.new(secret_key, b"lugx service calls v1", hashlib.sha256).digest()
        self._issued: dict[str, tuple[int, str]] = {}

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def issue(self, caller: str) -> str:
        now = int(time.time())
        issued = self._issued.get(caller)
        if issued is not None and now - issued[0] < REISSUE_SECONDS:
            return issued[1]
        message = f"{caller}.{now}"
        token = f"{message}.{self._mac(message)}"
        self._issued[caller] = (now, token)
        return token

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The calling service's name; Unauthorized if the token is forged, malformed or old."""
        caller, _, rest = token.partition(".")
        stamp, _, mac = rest.partition(".")
        if not caller or not stamp.isdigit() or not mac:
            raise Unauthorized("Malformed service token")
        if not hmac.compare_digest(mac, self._mac(f"{caller}.{stamp}")):
            raise Unauthorized("Invalid service token")
        if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW_SECONDS:
            raise Unauthorized("Expired service token")
        return caller


def require_service(*callers: str) -> Callable[[Request], Awaitable[str]]:
    """A dependency: the request must come from one of `callers` (by their service token).
    Returns the caller's name."""

    async def dependency(request: Request) -> str:
        token = request.headers.get(SERVICE_HEADER)
        if token is None:
            raise Forbidden("Only other Lugx services may call this")
        caller = request.app.state.ctx.service_tokens.verify(token)
        if caller not in callers:
            raise Forbidden(f"The {caller} service may not call this")
        return str(caller)

    return dependency
