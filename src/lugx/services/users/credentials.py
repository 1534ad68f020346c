"""Checking a password, away from any transaction: failed-attempt throttling, the deliberate
slowdown, and argon2 all happen here, before a unit of work is opened. (Held inside one, a
throttled sign-in would keep the service's writers waiting for seconds.)

Attempts are counted per account (by user id once the account is known, so its username and
e-mail share one allowance; by the login text otherwise) and failures per client address. The
account's counter is incremented atomically *before* the password is checked, so a burst of
parallel guesses cannot all slip under the limit; a success resets it.
"""

from __future__ import annotations

import asyncio

import structlog

from lugx.platform.cache import Cache
from lugx.platform.errors import Forbidden, TooManyRequests, Unauthorized, ValidationFailed
from lugx.platform.settings import Settings
from lugx.services.users.models import User
from lugx.services.users.passwords import Passwords, policy_problems

log = structlog.get_logger(__name__)

ADDRESS_ALLOWANCE = 5  # an address may fail this many times an account's allowance


def account_key(user: User | None, login: str) -> str:
    if user is not None:
        return f"signin:user:{user.id}"
    return f"signin:login:{login.strip().lower()}"


class Credentials:
    def __init__(self, settings: Settings, passwords: Passwords, cache: Cache) -> None:
        self._settings = settings
        self._passwords = passwords
        self._cache = cache

    async def _attempt(self, key: str, ip: str) -> None:
        """Count this attempt; refuse it if over the allowance, slow it down if close to it."""
        settings = self._settings
        window = settings.login_window_seconds
        attempts, left = await self._cache.incr(key, window)
        ip_failures, ip_left = await self._cache.counter(f"signin:ip:{ip}")
        if attempts > settings.login_lockout_after:
            raise TooManyRequests(
                "Too many failed sign-ins for this account; try again later",
                retry_after=int(left) + 1,
            )
        if ip_failures >= settings.login_lockout_after * ADDRESS_ALLOWANCE:
            raise TooManyRequests(
                "Too many failed sign-ins from this address; try again later",
                retry_after=int(ip_left) + 1,
            )
        earlier = max(attempts - 1, ip_failures // ADDRESS_ALLOWANCE)
        if earlier >= settings.login_slowdown_after:
            steps = earlier - settings.login_slowdown_after + 1
            await asyncio.sleep(min(settings.login_slowdown_seconds * steps, 5.0))

    async def _failed(self, ip: str) -> None:
        await self._cache.incr(f"signin:ip:{ip}", self._settings.login_window_seconds)

    async def sign_in(self, user: User | None, login: str, password: str, ip: str) -> User:
        """The account, if `password` opens it; 401 (the same for an unknown account), or 429."""
        key = account_key(user, login)
        await self._attempt(key, ip)
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            await self._failed(ip)
            log.info("sign-in refused", ip=ip, known_account=user is not None)
            raise Unauthorized("Wrong username, e-mail or password", code="invalid-credentials")
        await self._cache.delete(key)
        return user

    async def new_password_hash(self, user: User, current: str, new: str, ip: str) -> str:
        """For a password change: the current one must be right (throttled like a sign-in, so
        a stolen access token cannot be used to guess it), the new one must pass the policy."""
        key = account_key(user, user.username)
        await self._attempt(key, ip)
        if not await self._passwords.verify(user.password_hash, current):
            await self._failed(ip)
            raise Forbidden("The current password is wrong", code="invalid-credentials")
        await self._cache.delete(key)
        problems = policy_problems(new, username=user.username, email=user.email)
        if current == new:
            problems.append("must differ from the current password")
        if problems:
            raise ValidationFailed(
                "The new password " + "; ".join(problems),
                errors=[{"field": "new_password", "message": p} for p in problems],
            )
        return await self._passwords.hash(new)

    async def registration_hash(self, password: str, *, username: str, email: str) -> str:
        problems = policy_problems(password, username=username, email=email)
        if problems:
            raise ValidationFailed(
                "The password " + "; ".join(problems),
                errors=[{"field": "password", "message": p} for p in problems],
            )
        return await self._passwords.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._passwords.needs_rehash(password_hash)

    async def rehash(self, password: str) -> str:
        return await self._passwords.hash(password)
