"""The typed client other services use to ask the users service."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from lugx.platform.clients import ServiceClient
from lugx.services.users.schemas import PublicProfile, SessionRead, TokenPair, UserRead

_SESSIONS = TypeAdapter(list[SessionRead])


class UsersClient(ServiceClient):
    service = "users"

    async def profile(
        self, ref: uuid.UUID | int | str, *, token: str | None = None
    ) -> PublicProfile:
        response = await self.request(
            "GET", f"/api/v1/users/{quote(str(ref), safe='')}", token=token
        )
        return PublicProfile.model_validate_json(response.content)

    async def me(self, *, token: str) -> UserRead:
        response = await self.request("GET", "/api/v1/users/me", token=token)
        return UserRead.model_validate_json(response.content)

    async def jwks(self) -> dict[str, object]:
        response = await self.request("GET", "/.well-known/jwks.json")
        document: dict[str, object] = response.json()
        return document

    # -- the web store front: signing in and the own account, for a player it acts for ------
    # `headers` carries the player's X-Forwarded-For and User-Agent, so throttling and the
    # session list see the player, not the web process.

    async def register(
        self, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> UserRead:
        response = await self.request("POST", "/api/v1/users/register", json=body, headers=headers)
        return UserRead.model_validate_json(response.content)

    async def login(
        self, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> TokenPair:
        response = await self.request("POST", "/api/v1/users/login", json=body, headers=headers)
        return TokenPair.model_validate_json(response.content)

    async def refresh(
        self, refresh_token: str, *, headers: dict[str, str] | None = None
    ) -> TokenPair:
        response = await self.request(
            "POST",
            "/api/v1/users/token/refresh",
            json={"refresh_token": refresh_token},
            headers=headers,
        )
        return TokenPair.model_validate_json(response.content)

    async def logout(self, *, token: str) -> None:
        await self.request("POST", "/api/v1/users/logout", token=token)

    async def update_me(self, body: dict[str, Any], *, token: str) -> UserRead:
        response = await self.request("PATCH", "/api/v1/users/me", json=body, token=token)
        return UserRead.model_validate_json(response.content)

    async def sessions(self, *, token: str, limit: int = 100) -> list[SessionRead]:
        response = await self.request(
            "GET", "/api/v1/users/me/sessions", token=token, params={"limit": limit}
        )
        return _SESSIONS.validate_python(response.json()["items"])

    async def revoke_session(self, session_id: uuid.UUID, *, token: str) -> None:
        await self.request("DELETE", f"/api/v1/users/me/sessions/{session_id}", token=token)
