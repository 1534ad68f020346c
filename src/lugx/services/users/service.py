"""The rules of accounts, sign-in and profiles. Functions take the request's session and flush;
they never commit (the request scope does)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal, TokenIssuer, TokenVerifier
from lugx.platform.cache import Cache
from lugx.platform.db import utcnow
from lugx.platform.errors import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from lugx.platform.events import EventBus
from lugx.platform.settings import Settings
from lugx.services.users import repository as repo
from lugx.services.users.credentials import Credentials
from lugx.services.users.models import (
    EmailVerification,
    RefreshToken,
    User,
    UserPreferences,
    UserSession,
)
from lugx.services.users.schemas import (
    PreferencesUpdate,
    ProfileUpdate,
    PublicProfile,
    RegisterRequest,
    TokenPair,
)

log = structlog.get_logger(__name__)

RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "root", "system", "support", "lugx", "me", "moderator", "staff"}
)


@dataclass
class Accounts:
    """What the rules need beyond the session: built once per service (see app.py)."""

    settings: Settings
    credentials: Credentials
    issuer: TokenIssuer | None  # None in a process that holds no signing key (operator tools)
    tokens: TokenVerifier
    cache: Cache
    events: EventBus

    def signer(self) -> TokenIssuer:
        if self.issuer is None:
            raise ServiceUnavailable("This process cannot sign tokens")
        return self.issuer

    async def revoke(self, session_id: uuid.UUID) -> None:
        """Refuse the session's access tokens from now until they would have expired."""
        await self.tokens.revoke_session(
            session_id, ttl_seconds=self.settings.access_token_ttl_seconds
        )


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str


class RefreshReuse(Exception):
    """A rotated refresh token came back: its session has been revoked (commit, then refuse)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def me_cache_key(user_id: uuid.UUID) -> str:
    return f"users:me:{user_id}"


# --- registration ---------------------------------------------------------------------------


async def register(
    session: AsyncSession,
    accounts: Accounts,
    body: RegisterRequest,
    password_hash: str,
    *,
    roles: list[str] | None = None,
) -> User:
    """Create the account. The password was checked and hashed before the unit of work began
    (`Credentials.registration_hash`): argon2 must not run while writers wait."""
    username_key = body.username.lower()
    email = str(body.email)
    email_key = email.lower()
    if username_key in RESERVED_USERNAMES:
        raise Conflict("That username is reserved", code="username-taken")
    if await repo.username_taken(session, username_key):
        raise Conflict("That username is taken", code="username-taken")
    if await repo.email_taken(session, email_key):
        raise Conflict("An account with that e-mail address exists", code="email-taken")

    user = User(
        account_id=await repo.next_account_id(session),
        username=body.username,
        username_key=username_key,
        email=email,
        email_key=email_key,
        password_hash=password_hash,
        display_name=body.username,
        roles=roles or ["player"],
    )
    user.preferences = UserPreferences()
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # lost a race with an identical registration
        raise Conflict(
            "That username or e-mail address is taken", code="registration-conflict"
        ) from exc
    await accounts.events.publish(
        session,
        "UserRegistered",
        key=str(user.id),
        payload={
            "user_id": str(user.id),
            "account_id": user.account_id,
            "username": user.username,
            "roles": list(user.roles),
        },
    )
    await request_email_verification(session, accounts, user)
    return user


async def request_email_verification(session: AsyncSession, accounts: Accounts, user: User) -> None:
    if user.email_verified_at is not None:
        raise Conflict("This e-mail address is already verified", code="already-verified")
    token = secrets.token_urlsafe(32)
    session.add(
        EmailVerification(
            user_id=user.id,
            email=user.email,
            token_hash=_digest(token),
            expires_at=utcnow() + timedelta(hours=accounts.settings.email_verification_ttl_hours),
        )
    )
    # The notifications service e-mails the link; until then, development logs it.
    await accounts.events.publish(
        session,
        "EmailVerificationRequested",
        key=str(user.id),
        payload={"user_id": str(user.id), "email": user.email, "token": token},
    )
    if not accounts.settings.is_production:
        log.info("email verification token", user_id=str(user.id), token=token)


async def verify_email(session: AsyncSession, accounts: Accounts, token: str) -> User:
    record = await repo.verification_by_hash(session, _digest(token))
    now = utcnow()
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise NotFound("This verification link is unknown, used or expired", code="bad-token")
    user = await repo.user_by_id(session, record.user_id)
    if user is None or user.email != record.email:
        raise NotFound("This verification link no longer matches the account", code="bad-token")
    record.used_at = now
    user.email_verified_at = now
    await accounts.events.publish(
        session, "UserEmailVerified", key=str(user.id), payload={"user_id": str(user.id)}
    )
    return user


# --- signing in -------------------------------------------------------------------------------


async def start_session(
    session: AsyncSession,
    accounts: Accounts,
    user_id: uuid.UUID,
    *,
    device_name: str,
    client: Client,
    new_password_hash: str | None = None,
) -> TokenPair:
    """A signed-in device for a user whose password was just checked (`Credentials.sign_in`)."""
    user = await repo.user_by_id(session, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Wrong username, e-mail or password", code="invalid-credentials")
    if new_password_hash is not None:  # the stored hash used weaker parameters
        user.password_hash = new_password_hash
    user_session = UserSession(
        user_id=user.id,
        device_name=device_name or _device_from(client.user_agent),
        user_agent=client.user_agent[:512],
        ip_address=client.ip[:64],
        expires_at=utcnow() + timedelta(days=accounts.settings.refresh_token_ttl_days),
    )
    session.add(user_session)
    await session.flush()
    await accounts.events.publish(
        session,
        "UserLoggedIn",
        key=str(user.id),
        payload={"user_id": str(user.id), "session_id": str(user_session.id)},
    )
    return await _issue_pair(session, accounts, user, user_session)


def _device_from(user_agent: str) -> str:
    for name in ("Windows", "Macintosh", "iPhone", "iPad", "Android", "Linux", "curl", "python"):
        if name.lower() in user_agent.lower():
            return {"Macintosh": "Mac"}.get(name, name)
    return "Unknown device"


async def _issue_pair(
    session: AsyncSession, accounts: Accounts, user: User, user_session: UserSession
) -> TokenPair:
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            session_id=user_session.id,
            token_hash=_digest(refresh),
            expires_at=user_session.expires_at,
        )
    )
    await session.flush()
    issuer = accounts.signer()
    access = issuer.issue(
        user_id=user.id,
        account_id=user.account_id,
        roles=user.roles,
        session_id=user_session.id,
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=issuer.ttl_seconds,
        session_id=user_session.id,
    )


async def refresh(
    session: AsyncSession, accounts: Accounts, refresh_token: str, *, client: Client
) -> TokenPair:
    record = await repo.refresh_token_by_hash(session, _digest(refresh_token))
    now = utcnow()
    if record is None:
        raise Unauthorized("Unknown refresh token", code="invalid-refresh-token")
    user_session = await repo.session_by_id(session, record.session_id)
    if user_session is None or user_session.revoked_at is not None:
        raise Unauthorized("This session has been signed out", code="invalid-refresh-token")
    if record.used_at is not None or not await repo.mark_refresh_token_used(
        session, record.id, now
    ):
        await _revoke(session, accounts, user_session, reason="refresh-token-reuse")
        log.warning("refresh token reuse", session_id=str(user_session.id))
        raise RefreshReuse()
    if record.expires_at <= now or user_session.expires_at <= now:
        raise Unauthorized("This session has expired; sign in again", code="invalid-refresh-token")
    user = await repo.user_by_id(session, user_session.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("This account cannot sign in", code="invalid-refresh-token")
    user_session.last_used_at = now
    user_session.ip_address = client.ip[:64]
    return await _issue_pair(session, accounts, user, user_session)


async def restore_revocations(session: AsyncSession, accounts: Accounts) -> int:
    """After a restart of an in-memory wiring: refuse again the access tokens of sessions that
    were signed out while those tokens may still be unexpired."""
    since = utcnow() - timedelta(seconds=accounts.settings.access_token_ttl_seconds)
    revoked = await repo.recently_revoked_sessions(session, since)
    for session_id in revoked:
        await accounts.revoke(session_id)
    return len(revoked)


async def _revoke(
    session: AsyncSession, accounts: Accounts, user_session: UserSession, *, reason: str
) -> None:
    user_session.revoked_at = utcnow()
    user_session.revoked_reason = reason
    await session.flush()
    await accounts.revoke(user_session.id)


async def logout(session: AsyncSession, accounts: Accounts, principal: Principal) -> None:
    if principal.session_id is None:
        return
    user_session = await repo.session_by_id(session, principal.session_id)
    if user_session is not None and user_session.revoked_at is None:
        await _revoke(session, accounts, user_session, reason="logout")


async def revoke_session(
    session: AsyncSession, accounts: Accounts, principal: Principal, session_id: uuid.UUID
) -> None:
    user_session = await repo.session_by_id(session, session_id)
    # Someone else's session is "not found": its existence is not ours to confirm.
    if user_session is None or user_session.user_id != principal.user_id:
        raise NotFound("No such session")
    if user_session.revoked_at is None:
        await _revoke(session, accounts, user_session, reason="revoked-by-user")


async def list_sessions(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[UserSession]:
    return await repo.active_sessions(
        session, principal.user_id, now=utcnow(), limit=limit, after=after
    )


# --- the account --------------------------------------------------------------------------------


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repo.user_by_id(session, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such user")
    return user


async def update_profile(
    session: AsyncSession, accounts: Accounts, user_id: uuid.UUID, changes: ProfileUpdate
) -> User:
    user = await get_user(session, user_id)
    fields: dict[str, Any] = changes.model_dump(exclude_unset=True)
    for name in ("display_name", "profile_visibility"):
        if name in fields and fields[name] is None:
            raise ValidationFailed(
                f"{name} cannot be empty", errors=[{"field": name, "message": "cannot be null"}]
            )
    if "avatar_url" in fields and fields["avatar_url"] is not None:
        fields["avatar_url"] = str(fields["avatar_url"])
    if "bio" in fields and fields["bio"] is None:
        fields["bio"] = ""
    for name, value in fields.items():
        setattr(user, name, value)
    await session.flush()
    if fields:
        await accounts.events.publish(
            session,
            "UserProfileUpdated",
            key=str(user.id),
            payload={"user_id": str(user.id), "changed": sorted(fields)},
        )
    return user


async def get_preferences(session: AsyncSession, user_id: uuid.UUID) -> UserPreferences:
    preferences = await repo.preferences_of(session, user_id)
    if preferences is None:
        raise NotFound("No such user")
    return preferences


async def update_preferences(
    session: AsyncSession, user_id: uuid.UUID, changes: PreferencesUpdate
) -> UserPreferences:
    preferences = await get_preferences(session, user_id)
    for name, value in changes.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(preferences, name, value)
    await session.flush()
    return preferences


async def store_password(
    session: AsyncSession, accounts: Accounts, principal: Principal, password_hash: str
) -> None:
    """Keep the new password (checked and hashed by `Credentials.new_password_hash`) and sign
    out every other device."""
    user = await get_user(session, principal.user_id)
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    revoked = await repo.revoke_sessions(
        session, user.id, at=utcnow(), reason="password-changed", keep=principal.session_id
    )
    for session_id in revoked:
        await accounts.revoke(session_id)
    await accounts.events.publish(
        session, "UserPasswordChanged", key=str(user.id), payload={"user_id": str(user.id)}
    )


async def public_profile(
    session: AsyncSession, ref: str, viewer: Principal | None
) -> PublicProfile:
    user = await _find_by_ref(session, ref)
    shows_everything = user.profile_visibility == "public" or (
        viewer is not None and (viewer.user_id == user.id or viewer.is_admin)
    )
    # "friends" profiles open up to friends once the social service exists; until then they
    # show as private to everyone but their owner.
    profile = PublicProfile(
        id=user.id,
        account_id=user.account_id,
        username=user.username,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        profile_visibility=user.profile_visibility,
        is_private=not shows_everything,
    )
    if shows_everything:
        profile.bio = user.bio
        profile.country = user.country
        profile.member_since = user.created_at
    return profile


async def _find_by_ref(session: AsyncSession, ref: str) -> User:
    user: User | None = None
    if ref.isascii() and ref.isdecimal():
        user = await repo.user_by_account_id(session, int(ref)) if len(ref) <= 18 else None
    else:
        try:
            user = await repo.user_by_id(session, uuid.UUID(ref))
        except ValueError:
            # A username, like a profile's vanity URL (usernames are never all digits).
            user = await repo.user_by_username(session, ref)
    if user is None or not user.is_active:
        raise NotFound("No such user")
    return user


async def set_roles(session: AsyncSession, accounts: Accounts, ref: str, roles: list[str]) -> User:
    user = await _find_by_ref(session, ref)
    new_roles = sorted(set(roles) | {"player"})
    if set(user.roles) - set(new_roles):
        # A role taken away must not live on in tokens already issued: sign the user out.
        for session_id in await repo.revoke_sessions(
            session, user.id, at=utcnow(), reason="roles-changed"
        ):
            await accounts.revoke(session_id)
    user.roles = new_roles
    await session.flush()
    await accounts.events.publish(
        session,
        "UserRolesChanged",
        key=str(user.id),
        payload={"user_id": str(user.id), "roles": list(user.roles)},
    )
    return user
