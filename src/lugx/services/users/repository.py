"""Every query of the users service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.services.users.models import (
    AccountNumber,
    EmailVerification,
    RefreshToken,
    User,
    UserPreferences,
    UserSession,
)


async def next_account_id(session: AsyncSession) -> int:
    number = AccountNumber()
    session.add(number)
    await session.flush()
    return number.id


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_by_account_id(session: AsyncSession, account_id: int) -> User | None:
    result = await session.execute(select(User).where(User.account_id == account_id))
    return result.scalar_one_or_none()


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(select(User).where(User.username_key == username.lower()))
    return result.scalar_one_or_none()


async def user_by_login(session: AsyncSession, login: str) -> User | None:
    key = login.strip().lower()
    result = await session.execute(
        select(User).where(or_(User.username_key == key, User.email_key == key))
    )
    return result.scalar_one_or_none()


async def username_taken(session: AsyncSession, username_key: str) -> bool:
    found = await session.execute(select(User.id).where(User.username_key == username_key))
    return found.first() is not None


async def email_taken(session: AsyncSession, email_key: str) -> bool:
    found = await session.execute(select(User.id).where(User.email_key == email_key))
    return found.first() is not None


async def preferences_of(session: AsyncSession, user_id: uuid.UUID) -> UserPreferences | None:
    return await session.get(UserPreferences, user_id)


async def session_by_id(session: AsyncSession, session_id: uuid.UUID) -> UserSession | None:
    return await session.get(UserSession, session_id)


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    result = await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    )
    return result.scalar_one_or_none()


async def mark_refresh_token_used(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> bool:
    """Atomic compare-and-set: of two concurrent refreshes with one token, exactly one wins."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def active_sessions(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[UserSession]:
    query = select(UserSession).where(
        UserSession.user_id == user_id,
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > now,
    )
    if after is not None:
        created_at, session_id = after
        query = query.where(
            or_(
                UserSession.created_at < created_at,
                and_(UserSession.created_at == created_at, UserSession.id < session_id),
            )
        )
    query = query.order_by(UserSession.created_at.desc(), UserSession.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def revoke_sessions(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    at: datetime,
    reason: str,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    query = select(UserSession.id).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    ids = list((await session.execute(query)).scalars())
    if ids:
        await session.execute(
            update(UserSession)
            .where(UserSession.id.in_(ids))
            .values(revoked_at=at, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
    return ids


async def verification_by_hash(session: AsyncSession, token_hash: str) -> EmailVerification | None:
    result = await session.execute(
        select(EmailVerification).where(EmailVerification.token_hash == token_hash)
    )
    return result.scalar_one_or_none()


async def recently_revoked_sessions(session: AsyncSession, since: datetime) -> list[uuid.UUID]:
    result = await session.execute(select(UserSession.id).where(UserSession.revoked_at >= since))
    return list(result.scalars())
