"""The users service: accounts, sign-in, sessions, profiles, preferences, roles, the JWKS."""

from __future__ import annotations

from fastapi import APIRouter

from lugx.platform.auth import TokenIssuer
from lugx.platform.service import ServiceContext, ServiceSpec
from lugx.services.users import routes
from lugx.services.users.credentials import Credentials
from lugx.services.users.models import EVENTS, Base
from lugx.services.users.passwords import Passwords
from lugx.services.users.seed import seed_demo
from lugx.services.users.service import Accounts, restore_revocations


def configure(ctx: ServiceContext) -> None:
    # Without the signing key (an operator's command in production) accounts can be managed but
    # nobody can sign in through this process.
    signing_key = ctx.extras["wiring"].signing_key
    ctx.extras["signing_key"] = signing_key
    ctx.extras["accounts"] = Accounts(
        settings=ctx.settings,
        credentials=Credentials(ctx.settings, Passwords(ctx.settings), ctx.cache),
        issuer=TokenIssuer(
            signing_key,
            issuer=ctx.settings.jwt_issuer,
            ttl_seconds=ctx.settings.access_token_ttl_seconds,
        )
        if signing_key is not None
        else None,
        tokens=ctx.tokens,
        cache=ctx.cache,
        events=ctx.events,
    )


async def on_start(ctx: ServiceContext) -> None:
    async with ctx.db.session(write=False) as session:
        await restore_revocations(session, ctx.extras["accounts"])


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
    on_start=on_start,
    seed_demo=seed_demo,
)
