"""The typed client other services (shopping, purchases, the web front) use to ask the catalog."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter

from lugx.platform.clients import ServiceClient
from lugx.services.catalog.schemas import GameDetail, GameManagers, PriceRead

_PRICES = TypeAdapter(dict[str, PriceRead])


class CatalogClient(ServiceClient):
    service = "catalog"

    async def game(self, app_id: int, *, currency: str = "USD") -> GameDetail:
        response = await self.request(
            "GET", f"/api/v1/catalog/games/{app_id}", params={"currency": currency}
        )
        return GameDetail.model_validate_json(response.content)

    async def prices(self, app_ids: list[int], *, currency: str = "USD") -> dict[int, PriceRead]:
        """Current prices of published items; unknown or unpublished ones are left out."""
        response = await self.request(
            "GET", "/api/v1/catalog/prices", params={"app_ids": app_ids, "currency": currency}
        )
        return {int(k): v for k, v in _PRICES.validate_json(response.content).items()}

    async def is_publisher_member(self, app_id: int, user_id: uuid.UUID) -> bool:
        """Whether the user belongs to the publisher owning the game (NotFound: no such game).
        Needs a service token (`ctx.client(CatalogClient)`); the caller checks roles itself."""
        response = await self.request(
            "GET", f"/internal/v1/catalog/games/{app_id}/members/{user_id}"
        )
        return GameManagers.model_validate_json(response.content).member
