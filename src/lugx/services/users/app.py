"""The users service: accounts, sign-in, sessions, profiles, preferences, roles, the JWKS."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.auth import TokenIssuer
from lugx.platform.service import ServiceContext, ServiceSpec
from lugx.services.users import routes
from lugx.services.users.models import EVENTS, Base
from lugx.services.users.passwords import Passwords
from lugx.services.users.seed import seed_demo
from lugx.services.users.service import Accounts


def configure(ctx: ServiceContext) -> None:
    signing_key = ctx.extras["wiring"].signing_key
    if signing_key is None:
        raise RuntimeError("the users service needs the token signing key in its process")
    ctx.extras["signing_key"] = signing_key
    ctx.extras["accounts"] = Accounts(
        settings=ctx.settings,
        passwords=Passwords(ctx.settings),
        issuer=TokenIssuer(
            signing_key,
            issuer=ctx.settings.jwt_issuer,
            ttl_seconds=ctx.settings.access_token_ttl_seconds,
        ),
        tokens=ctx.tokens,
        cache=ctx.cache,
        events=ctx.events,
    )


def routers() -> list[APIRouter]:
    return [routes.wellknown, routes.router]


SPEC = ServiceSpec(
    name="users",
    title="Users",
    description="Accounts, sign-in, sessions, profiles, preferences, roles and the JWKS.",
    metadata=Base.metadata,
    event_tables=EVENTS,
    migrations_package="lugx.services.users.migrations",
    routers=routers,
    configure=configure,
    seed_demo=seed_demo,
)
