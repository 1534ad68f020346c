"""Password hashing (argon2id) and the password policy.

The policy follows NIST SP 800-63B: length over composition rules, and a refusal of passwords
that are common or built from the account's own name. Hashing runs in a worker thread: argon2 is
deliberately slow and must not stall the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lugx.platform.settings import Settings

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_DISTINCT = 5

COMMON_PASSWORDS = frozenset(
    """
    password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
    1234567890 0123456789 12345678910 qwertyuiop qwerty1234 qwerty12345 1q2w3e4r5t 1qaz2wsx3edc
    iloveyou12 iloveyou123 sunshine123 football123 baseball123 princess123 dragon1234 monkey1234
    letmein123 welcome123 welcome1234 admin12345 administrator trustno1234 starwars123 superman123
    abcdefghij abc1234567 aaaaaaaaaa 1111111111 0000000000 9876543210 zaq12wsxcde qazwsxedcrfv
    changeme123 letmeinplease passwordpassword gamer12345 steam12345 minecraft123 fortnite123
    """.split()
)


def policy_problems(password: str, *, username: str, email: str) -> list[str]:
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if len(set(password)) < MIN_DISTINCT:
        problems.append(f"must use at least {MIN_DISTINCT} different characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append("is one of the most common passwords")
    local_part = email.split("@", 1)[0].lower()
    for own in (username.lower(), local_part):
        if len(own) >= 3 and own in lowered:
            problems.append("must not contain your username or e-mail address")
            break
    return problems


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so both paths take as long.
        self._dummy_hash = self._hasher.hash("not-a-real-password-0")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return (
                await asyncio.to_thread(
                    self._hasher.verify, password_hash or self._dummy_hash, password
                )
                and password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
