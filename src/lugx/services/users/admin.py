"""Operator actions run from the CLI (`lugx users create-admin`, `lugx users grant-role`)."""

from __future__ import annotations

from lugx.platform.errors import NotFound
from lugx.platform.service import ServiceContext
from lugx.services.users import repository as repo
from lugx.services.users import service
from lugx.services.users.models import User
from lugx.services.users.schemas import RegisterRequest


async def create_admin(ctx: ServiceContext, *, username: str, email: str, password: str) -> User:
    """The first admin: a new account with the admin role, under the normal password policy."""
    accounts: service.Accounts = ctx.extras["accounts"]
    body = RegisterRequest(username=username, email=email, password=password)
    password_hash = await accounts.credentials.registration_hash(
        password, username=username, email=str(body.email)
    )
    async with ctx.db.session() as session:
        user = await service.register(
            session, accounts, body, password_hash, roles=["player", "admin"]
        )
    return user


async def grant_role(ctx: ServiceContext, login: str, role: str) -> User:
    accounts: service.Accounts = ctx.extras["accounts"]
    async with ctx.db.session() as session:
        user = await repo.user_by_login(session, login)
        if user is None:
            raise NotFound(f"No user {login!r}")
        user = await service.set_roles(session, accounts, str(user.id), [*user.roles, role])
    await accounts.cache.delete(service.me_cache_key(user.id))
    return user
