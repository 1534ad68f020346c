"""FastAPI dependencies: the verified caller, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from lugx.platform.auth.principal import Principal
from lugx.platform.errors import Forbidden, Unauthorized


def parse_bearer(value: str) -> str:
    """The token of an `Authorization: Bearer <token>` header value."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <access token>'")
    return token.strip()


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization")
    return parse_bearer(value) if value else None


# Set by the gateway on the ASGI scope once it has verified the request's token. Only code in the
# same process can put it there (a remote client sends headers, never scope keys), so in the
# embedded wiring a service takes it instead of checking the same signature a second time.
PRINCIPAL_SCOPE_KEY = "lugx.principal"


async def current_principal(request: Request) -> Principal:
    verified = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(verified, Principal):
        return verified
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    principal: Principal = await request.app.state.ctx.tokens.verify(token)
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    return principal


async def optional_principal(request: Request) -> Principal | None:
    if request.headers.get("authorization") is None:
        return None
    return await current_principal(request)


CurrentUser = Annotated[Principal, Depends(current_principal)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]


def require_roles(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.has_role(*roles):
            raise Forbidden(f"This needs the role {' or '.join(roles)}")
        return principal

    return dependency
