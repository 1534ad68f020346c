"""The typed client other services use to ask the users service."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from lugx.platform.clients import ServiceClient
from lugx.services.users.schemas import PublicProfile, UserRead


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
