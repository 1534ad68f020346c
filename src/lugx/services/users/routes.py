"""HTTP endpoints of the users service: parse, authorise, call the rules, shape the response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from lugx.platform.auth import CurrentUser, OptionalUser, Principal, require_roles
from lugx.platform.auth.keys import previous_public_keys, public_jwk
from lugx.platform.db import Database, DbSession, after_commit
from lugx.platform.errors import BadRequest, problem
from lugx.platform.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
from lugx.services.users import repository as repo
from lugx.services.users import service
from lugx.services.users.models import User
from lugx.services.users.schemas import (
    EmailVerificationConfirm,
    LoginRequest,
    PasswordChange,
    Preferences,
    PreferencesUpdate,
    ProfileUpdate,
    PublicProfile,
    RefreshRequest,
    RegisterRequest,
    RolesUpdate,
    SessionRead,
    TokenPair,
    UserRead,
)
from lugx.services.users.service import Accounts, Client

PREFIX = "/api/v1/users"
ME_CACHE_SECONDS = 60

router = APIRouter(prefix=PREFIX, tags=["users"])
wellknown = APIRouter(tags=["users"])


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.ctx.extras["accounts"]
    return accounts


AccountsDep = Annotated[Accounts, Depends(accounts_of)]
UserRef = Annotated[
    str, Path(min_length=1, max_length=40, description="User UUID, integer account_id or username")
]


def db_of(request: Request) -> Database:
    database: Database = request.app.state.ctx.db
    return database


def client_of(request: Request) -> Client:
    return Client(
        ip=request.app.state.ctx.client_address(request.scope),
        user_agent=request.headers.get("user-agent", ""),
    )


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        account_id=user.account_id,
        username=user.username,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        bio=user.bio,
        country=user.country,
        profile_visibility=user.profile_visibility,
        roles=user.roles,
        created_at=user.created_at,
    )


def forget_me(session: AsyncSession, accounts: Accounts, user_id: uuid.UUID) -> None:
    """Drop the cached /me once the change is committed (not before: a read in between would
    cache the old row again)."""

    async def drop() -> None:
        await accounts.cache.delete(service.me_cache_key(user_id))

    after_commit(session, drop)


@wellknown.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(request: Request) -> dict[str, list[dict[str, object]]]:
    ctx = request.app.state.ctx
    current = [ctx.extras["signing_key"].jwk()] if ctx.extras["signing_key"] else []
    earlier = previous_public_keys(ctx.settings)
    return {"keys": [*current, *(public_jwk(key, kid) for kid, key in earlier.items())]}


# Registration, sign-in and password changes hash or check a password first, and only then
# open their unit of work: argon2 (and a throttled sign-in's delay) must not hold up writers.


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserRead)
async def register(body: RegisterRequest, request: Request, accounts: AccountsDep) -> UserRead:
    password_hash = await accounts.credentials.registration_hash(
        body.password, username=body.username, email=str(body.email)
    )
    async with db_of(request).session() as session:
        user = await service.register(session, accounts, body, password_hash)
        return user_read(user)


@router.post("/login", response_model=TokenPair)
async def login(body: LoginRequest, request: Request, accounts: AccountsDep) -> TokenPair:
    client = client_of(request)
    async with db_of(request).session(write=False) as session:
        found = await repo.user_by_login(session, body.login)
    user = await accounts.credentials.sign_in(found, body.login, body.password, client.ip)
    rehashed = None
    if accounts.credentials.needs_rehash(user.password_hash):
        rehashed = await accounts.credentials.rehash(body.password)
    async with db_of(request).session() as session:
        return await service.start_session(
            session,
            accounts,
            user.id,
            device_name=body.device_name,
            client=client,
            new_password_hash=rehashed,
        )


@router.post("/token/refresh", response_model=TokenPair)
async def refresh(
    body: RefreshRequest, request: Request, session: DbSession, accounts: AccountsDep
) -> TokenPair | Response:
    try:
        return await service.refresh(
            session, accounts, body.refresh_token, client=client_of(request)
        )
    except service.RefreshReuse:
        # Returned, not raised, so the revocation of the session is committed.
        return problem(
            401,
            code="refresh-token-reused",
            instance=request.url.path,
            detail="This refresh token was already used; the session has been signed out",
            headers={"WWW-Authenticate": 'Bearer realm="lugx"'},
        )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(
    principal: CurrentUser,
    session: DbSession,
    accounts: AccountsDep,
) -> None:
    await service.logout(session, accounts, principal)


@router.post("/email/verify", response_model=UserRead)
async def verify_email(
    body: EmailVerificationConfirm, request: Request, session: DbSession, accounts: AccountsDep
) -> UserRead:
    user = await service.verify_email(session, accounts, body.token)
    forget_me(session, accounts, user.id)
    return user_read(user)


@router.get("/me", response_model=UserRead)
async def me(request: Request, principal: CurrentUser) -> Response:
    """The hottest read of the service: answered from the cache, which every change to the
    account drops after it commits; the database is opened only on a miss."""
    accounts = accounts_of(request)
    key = service.me_cache_key(principal.user_id)
    cached = await accounts.cache.get(key)
    if cached is None:
        async with request.app.state.ctx.db.session(write=False) as session:
            user = await service.get_user(session, principal.user_id)
        cached = orjson.dumps(user_read(user).model_dump(mode="json"))
        await accounts.cache.set(key, cached, ttl=ME_CACHE_SECONDS)
    return Response(
        cached, media_type="application/json", headers={"cache-control": "private, no-cache"}
    )


@router.patch("/me", response_model=UserRead)
async def update_me(
    body: ProfileUpdate,
    request: Request,
    principal: CurrentUser,
    session: DbSession,
    accounts: AccountsDep,
) -> UserRead:
    user = await service.update_profile(session, accounts, principal.user_id, body)
    forget_me(session, accounts, user.id)
    return user_read(user)


@router.post("/me/email/verification", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification(
    principal: CurrentUser, session: DbSession, accounts: AccountsDep
) -> dict[str, str]:
    user = await service.get_user(session, principal.user_id)
    await service.request_email_verification(session, accounts, user)
    return {"status": "sent"}


@router.get("/me/preferences", response_model=Preferences)
async def get_preferences(principal: CurrentUser, session: DbSession) -> Preferences:
    return Preferences.model_validate(await service.get_preferences(session, principal.user_id))


@router.patch("/me/preferences", response_model=Preferences)
async def update_preferences(
    body: PreferencesUpdate, principal: CurrentUser, session: DbSession
) -> Preferences:
    preferences = await service.update_preferences(session, principal.user_id, body)
    return Preferences.model_validate(preferences)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def change_password(
    body: PasswordChange, request: Request, principal: CurrentUser, accounts: AccountsDep
) -> None:
    async with db_of(request).session(write=False) as session:
        user = await service.get_user(session, principal.user_id)
    password_hash = await accounts.credentials.new_password_hash(
        user, body.current_password, body.new_password, client_of(request).ip
    )
    async with db_of(request).session() as session:
        await service.store_password(session, accounts, principal, password_hash)
        forget_me(session, accounts, principal.user_id)


@router.get("/me/sessions", response_model=Page[SessionRead])
async def list_sessions(
    request: Request,
    principal: CurrentUser,
    session: DbSession,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[SessionRead]:
    secret = request.app.state.ctx.secret_key
    after = None
    if cursor:
        key = decode_cursor(secret, cursor)
        try:
            after = (datetime.fromisoformat(key["t"]), uuid.UUID(key["id"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRequest("The cursor is not valid", code="invalid-cursor") from exc
    rows = await service.list_sessions(session, principal, limit=limit + 1, after=after)
    items = [
        SessionRead(
            id=row.id,
            device_name=row.device_name,
            user_agent=row.user_agent,
            ip_address=row.ip_address,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            current=row.id == principal.session_id,
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(secret, {"t": last.created_at.isoformat(), "id": str(last.id)})
    return Page[SessionRead](items=items, next_cursor=next_cursor)


@router.delete(
    "/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def revoke_session(
    session_id: uuid.UUID, principal: CurrentUser, session: DbSession, accounts: AccountsDep
) -> None:
    await service.revoke_session(session, accounts, principal, session_id)


@router.get("/{ref}", response_model=PublicProfile)
async def public_profile(ref: UserRef, viewer: OptionalUser, session: DbSession) -> PublicProfile:
    return await service.public_profile(session, ref, viewer)


@router.put("/{ref}/roles", response_model=UserRead, summary="Set a user's roles (admin)")
async def set_roles(
    ref: UserRef,
    body: RolesUpdate,
    request: Request,
    session: DbSession,
    accounts: AccountsDep,
    _admin: Annotated[Principal, Depends(require_roles("admin"))],
) -> UserRead:
    user = await service.set_roles(session, accounts, ref, list(body.roles))
    forget_me(session, accounts, user.id)
    return user_read(user)
