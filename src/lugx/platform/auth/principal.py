from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Role = Literal["player", "publisher", "admin"]
ROLES: tuple[Role, ...] = ("player", "publisher", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller of a request."""

    user_id: uuid.UUID
    account_id: int
    roles: frozenset[str]
    session_id: uuid.UUID | None
    expires_at: float

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
